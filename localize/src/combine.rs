//! Agentless's `combine.py`: the model's files and retrieval's files voted together.

use indexmap::IndexMap;

/// A vote for each of the model's first `top_n` files and each of retrieval's first `top_n`; files sorted by
/// votes, ties in first-seen order (model files first), like `Counter.most_common()`. At most `2 * top_n`.
pub fn combine_files(model_files: &[String], retrieval_files: &[String], top_n: usize) -> Vec<String> {
    let mut votes: IndexMap<&str, usize> = IndexMap::new();
    for file in model_files.iter().take(top_n).chain(retrieval_files.iter().take(top_n)) {
        *votes.entry(file.as_str()).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = votes.into_iter().collect();
    ranked.sort_by_key(|(_, votes)| std::cmp::Reverse(*votes));
    ranked.into_iter().map(|(file, _)| file.to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    #[test]
    fn files_found_by_both_come_first_then_model_then_retrieval() {
        let model = strings(&["a.py", "b.py", "c.py", "d.py"]);
        let retrieval = strings(&["x.py", "c.py", "y.py", "a.py"]);
        assert_eq!(combine_files(&model, &retrieval, 3), strings(&["c.py", "a.py", "b.py", "x.py", "y.py"]));
    }

    #[test]
    fn at_most_twice_top_n_and_empty_sides_are_fine() {
        let model = strings(&["a.py", "b.py", "c.py"]);
        let retrieval = strings(&["x.py", "y.py", "z.py"]);
        assert_eq!(combine_files(&model, &retrieval, 2), strings(&["a.py", "b.py", "x.py", "y.py"]));
        assert_eq!(combine_files(&model, &[], 2), strings(&["a.py", "b.py"]));
        assert_eq!(combine_files(&[], &retrieval, 1), strings(&["x.py"]));
    }
}
