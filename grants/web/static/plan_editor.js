// Progressive enhancement of the plan editor: the running budget and tranche totals update as
// people type. The page works without it (totals are recomputed on every round trip).
(function () {
  "use strict";
  function parse(value) {
    var text = (value || "").replace(/[$,\s]/g, "");
    if (!/^-?\d+(\.\d{1,2})?$/.test(text)) { return 0; }
    return Math.round(parseFloat(text) * 100);
  }
  function money(cents) {
    return "$" + (cents / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function sum(selector) {
    var total = 0;
    document.querySelectorAll(selector).forEach(function (input) { total += parse(input.value); });
    return total;
  }
  function update() {
    var budget = sum("input[data-budget-amount]");
    var tranches = sum("input[data-tranche-amount]");
    var allocationNode = document.querySelector("[data-allocation]");
    var allocation = allocationNode ? parse(allocationNode.getAttribute("data-allocation")) : 0;
    document.querySelectorAll("[data-budget-total]").forEach(function (node) { node.textContent = money(budget); });
    document.querySelectorAll("[data-tranche-total]").forEach(function (node) { node.textContent = money(tranches); });
    var row = document.querySelector("[data-budget-row]");
    if (row) { row.classList.toggle("over", budget > allocation); }
    var remaining = document.querySelector("[data-budget-remaining]");
    if (remaining) {
      remaining.textContent = budget > allocation
        ? (remaining.getAttribute("data-over-label") || "") + " " + money(budget - allocation)
        : (remaining.getAttribute("data-left-label") || "") + " " + money(allocation - budget);
    }
    var tfoot = document.querySelector("[data-tranche-total]");
    if (tfoot) { tfoot.closest("tr").classList.toggle("mismatch", budget !== tranches); }
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches("input[data-budget-amount], input[data-tranche-amount]")) { update(); }
  });
})();
