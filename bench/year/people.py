"""Beneficiaries and their enrollment histories (status periods)."""
from __future__ import annotations

from year.constants import FIRST, LAST


class PeopleMixin:
    # --- beneficiaries and enrollment histories ---------------------------------------------------------
    def enrollments(self) -> None:
        w, out, rng = self.w, self.out, self.rng
        as_of, start = w.as_of.toordinal(), self.start
        self.active: list[tuple[int, int, int]] = []   # (enrollment, active from, active until (exclusive))
        self.not_active: list[tuple[int, int, int]] = []
        self.validated = self.reached = 0
        monitoring, ngo = w.pick("monitoring_reviewer"), self.ngo
        reused, pooled = [], 0
        if self.i >= 2:
            for _ in range(max(1, self.n_enrollments // 200)):   # people who left another agreement earlier
                if w.withdrawn_people:
                    reused.append(("sequential",) + w.withdrawn_people.pop(rng.randrange(len(w.withdrawn_people))))
            if "double_active_enrollment" in self.plants:
                pick = rng.randrange(len(w.active_people))
                if max(start, w.active_people[pick][1] + 1) + 20 > as_of:
                    # active elsewhere too recently to be enrolled, validated and active here by as_of
                    # (at most 20 days, below): the person active elsewhere the longest instead
                    pick = min(range(len(w.active_people)), key=lambda j: (w.active_people[j][1], j))
                person, active_from, _ = w.active_people.pop(pick)
                reused.append(("overlap", person, active_from))
        for k in range(self.n_enrollments):
            eid = w.next("enrollments")
            overlap = False
            if k < len(reused):
                kind, person, day = reused[k]
                overlap = kind == "overlap"
                enrolled = max(start, day + 1) + rng.randrange(10)
            else:
                person = w.next("beneficiaries")
                enrolled = start + (rng.randrange(60) if rng.random() < 0.6 else rng.randrange(max(61, as_of - 30 - start)))
                age = rng.randint(14, 29)
                birth = enrolled - age * 365 - rng.randrange(1, 360)
                w.serial += 1
                doc = ("dui", w.dui(w.serial)) if age >= 19 else ("partida_nacimiento", f"PN-{w.serial:09d}")
                stamp = w.ts(enrolled, 14 * 3600 + rng.randrange(7200))
                out.line("beneficiaries", f"{person}\t{doc[0]}\t{doc[1]}\t{rng.choice(FIRST)}\t{rng.choice(LAST)} "
                                          f"{rng.choice(LAST)}\t{w.iso(birth)}\t{'F' if rng.random() < 0.52 else 'M'}\t"
                                          f"{rng.choice(self.territory)}\t{stamp}\t{stamp}\n")
            enrolled = min(enrolled, as_of)
            history = [("pending", enrolled)]
            r = rng.random()
            validated = enrolled + rng.randint(3, 20)
            if overlap:
                validated = enrolled + 1
            if (r > 0.03 or overlap) and validated <= as_of:
                history.append(("validated", validated))
                active = validated + rng.randint(1, 10)
                if (r > 0.08 or overlap) and active <= as_of:
                    history.append(("active", active))
                    r2 = rng.random()
                    leave = active + rng.randrange(30, 240)
                    if not overlap and r2 < 0.12 and leave <= as_of:
                        history.append(("inactive" if r2 < 0.08 else "withdrawn", leave))
            until = 10**9
            for status, day in history[1:]:
                if status in ("inactive", "withdrawn"):
                    until = day
            if len(history) >= 2:
                self.validated += 1
            if len(history) >= 3:
                self.reached += 1
                self.active.append((eid, history[2][1], until))
                if until == 10**9 and not overlap and (pooled < 2 or rng.random() < 0.002) and len(w.active_people) < 5000:
                    w.active_people.append((person, history[2][1], self.i))
                    pooled += 1
                if until != 10**9:
                    self.not_active.append((eid, history[2][1], until))
            else:
                self.not_active.append((eid, 10**9, 10**9))
            if history[-1][0] == "withdrawn":
                if rng.random() < 0.3 and len(w.withdrawn_people) < 20_000:
                    w.withdrawn_people.append((person, until))
            current = history[-1][0]
            stamp = w.ts(history[-1][1])
            out.line("enrollments", f"{eid}\t{self.agreement}\t{self.org}\t{person}\t{current}\t{w.iso(enrolled)}\t"
                                    f"{w.ts(enrolled)}\t{stamp}\n")
            for n, (status, day) in enumerate(history):
                to = w.iso(history[n + 1][1]) if n + 1 < len(history) else "\\N"
                actor = monitoring if status == "validated" else ngo
                reason = "Retiro voluntario" if status == "withdrawn" else "Dejó de asistir" if status == "inactive" else "\\N"
                out.line("enrollment_periods", f"{w.next('enrollment_periods')}\t{eid}\t{status}\t{w.iso(day)}\t{to}\t"
                                               f"{reason}\t{actor}\t{w.ts(day)}\n")
