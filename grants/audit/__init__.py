"""Hash-chained audit log; later also liquidation checks and findings."""
from grants.audit.chain import Actor, record_event, snapshot, verify_chain

__all__ = ["Actor", "record_event", "snapshot", "verify_chain"]
