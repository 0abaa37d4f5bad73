//! How model usage is shown: calls, tokens and cost, digits grouped.

use agentless_model::StageTotals;

/// `12,345` for humans.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// One line of model usage: calls (answered from agentless's own cache or sent), tokens (and how many of the
/// prompt tokens the provider's prompt cache served), cost.
pub fn usage_line(totals: &StageTotals) -> String {
    format!(
        "{} call(s) ({} cached), {} prompt + {} completion tokens ({} prompt tokens from the provider's cache), ${:.4}",
        totals.calls,
        totals.cached_calls,
        thousands(totals.usage.prompt_tokens),
        thousands(totals.usage.completion_tokens),
        thousands(totals.usage.cached_tokens),
        totals.cost_usd
    )
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
