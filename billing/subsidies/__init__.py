"""Park subsidy programs: rules, eligibility, the quota ledger and the park console."""
