//! What a run has spent — model usage and wall time per stage — summed over every process that worked on it
//! (`spend.json`, rewritten after each stage, so a resumed run reports its whole cost and not only its last part).

use std::collections::BTreeMap;

use agentless_model::{Ledger, StageTotals};
use serde::{Deserialize, Serialize};

use crate::report::StageTime;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spend {
    /// Model usage per stage.
    pub usage_by_stage: BTreeMap<String, StageTotals>,
    /// Wall time per pipeline stage, in the order the stages first ran.
    pub times: Vec<StageTime>,
    /// Wall time of the whole run.
    pub seconds: f64,
    /// How many processes worked on the run (1 for a run never resumed).
    pub processes: u32,
}

impl Spend {
    /// This spend plus what one more process spent: its ledger, its stage times and its wall time.
    pub fn plus(&self, ledger: &Ledger, times: &[StageTime], seconds: f64) -> Spend {
        let mut sum = self.clone();
        for (stage, totals) in ledger.by_stage() {
            *sum.usage_by_stage.entry(stage).or_default() += &totals;
        }
        for time in times {
            match sum.times.iter_mut().find(|earlier| earlier.stage == time.stage) {
                Some(earlier) => earlier.seconds += time.seconds,
                None => sum.times.push(time.clone()),
            }
        }
        sum.seconds += seconds;
        sum.processes += 1;
        sum
    }

    pub fn total(&self) -> StageTotals {
        let mut total = StageTotals::default();
        for totals in self.usage_by_stage.values() {
            total += totals;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_run_adds_its_spend_to_the_earlier_one() {
        let first =
            Spend::default().plus(&Ledger::default(), &[StageTime { stage: "localize".to_owned(), seconds: 2.0 }], 3.0);
        let earlier = StageTotals { calls: 4, cost_usd: 0.5, ..StageTotals::default() };
        let first = Spend { usage_by_stage: BTreeMap::from([("localize".to_owned(), earlier)]), ..first };
        let second = first.plus(
            &Ledger::default(),
            &[
                StageTime { stage: "localize".to_owned(), seconds: 0.5 },
                StageTime { stage: "repair".to_owned(), seconds: 7.0 },
            ],
            8.0,
        );
        let stages: Vec<(&str, f64)> = second.times.iter().map(|time| (time.stage.as_str(), time.seconds)).collect();
        assert_eq!(stages, [("localize", 2.5), ("repair", 7.0)]);
        assert_eq!((second.seconds, second.processes), (11.0, 2));
        assert_eq!((second.total().calls, second.total().cost_usd), (4, 0.5));
    }
}
