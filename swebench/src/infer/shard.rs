//! `--shard I/N`: one of N deterministic slices of the instances.

use std::fmt;
use std::str::FromStr;

use crate::Instance;

/// The `index`-th (0-based) of `count` slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// The instances of this shard: every `count`-th instance in id order, starting at `index`.
    pub fn select(&self, mut instances: Vec<Instance>) -> Vec<Instance> {
        instances.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        instances
            .into_iter()
            .enumerate()
            .filter(|(position, _)| position % self.count == self.index)
            .map(|(_, instance)| instance)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a shard is I/N with 1 <= I <= N, not `{0}`")]
pub struct ShardError(String);

impl FromStr for Shard {
    type Err = ShardError;

    /// `I/N`, 1-based.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = text.split_once('/').and_then(|(index, count)| Some((index.parse().ok()?, count.parse().ok()?)));
        match parsed {
            Some((index, count)) if count > 0 && (1..=count).contains(&index) => Ok(Shard { index: index - 1, count }),
            _ => Err(ShardError(text.to_owned())),
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.index + 1, self.count)
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::infer::tests::instance;

    #[test]
    fn shards_split_every_instance_once() {
        let all: Vec<Instance> = ["e", "a", "d", "b", "c"].iter().map(|id| instance(id)).collect();
        let ids = |shard: &str| -> Vec<String> {
            shard.parse::<Shard>().unwrap().select(all.clone()).into_iter().map(|i| i.instance_id).collect()
        };
        assert_eq!(ids("1/2"), ["a", "c", "e"]);
        let mut seen = [ids("1/2"), ids("2/2")].concat();
        seen.sort();
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
        assert_eq!("2/4".parse::<Shard>().unwrap().to_string(), "2/4");
        assert!("0/4".parse::<Shard>().is_err() && "5/4".parse::<Shard>().is_err() && "x".parse::<Shard>().is_err());
    }
}
