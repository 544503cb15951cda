//! Splits the modules among workers. Modules of one top-level package stay in one worker
//! where possible (importing a package twice costs twice), but a package bigger than a fair
//! share is split, or one worker would do all the work while the others sit idle.

use std::collections::HashMap;

pub fn shards(modules: &[String], jobs: usize) -> Vec<Vec<String>> {
    let jobs = jobs.max(1);
    if modules.is_empty() {
        return Vec::new();
    }
    let fair_share = modules.len().div_ceil(jobs);

    // Groups of original indices by top-level name, in order of first appearance.
    let mut order: Vec<&str> = Vec::new();
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, module) in modules.iter().enumerate() {
        let top = module.split('.').next().unwrap_or(module);
        groups.entry(top).or_insert_with(|| {
            order.push(top);
            Vec::new()
        });
        groups.get_mut(top).expect("inserted above").push(i);
    }
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    for top in order {
        for chunk in groups[top].chunks(fair_share) {
            chunks.push(chunk.to_vec());
        }
    }
    // Largest first onto the least loaded worker: a good greedy balance.
    chunks.sort_by_key(|c| std::cmp::Reverse(c.len()));
    let mut bins: Vec<Vec<usize>> = vec![Vec::new(); jobs.min(chunks.len())];
    for chunk in chunks {
        let bin = bins
            .iter_mut()
            .min_by_key(|b| b.len())
            .expect("at least one bin");
        bin.extend(chunk);
    }
    bins.into_iter()
        .filter(|b| !b.is_empty())
        .map(|mut b| {
            // Within a worker, keep the caller's order (a package before its submodules).
            b.sort_unstable();
            b.into_iter().map(|i| modules[i].clone()).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::shards;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keeps_packages_together_and_order_within_a_worker() {
        let modules = names(&["a", "b", "a.x", "c", "b.y", "a.z"]);
        let got = shards(&modules, 2);
        assert_eq!(got.len(), 2);
        let a_worker = got.iter().find(|s| s.contains(&"a".to_string())).unwrap();
        assert_eq!(a_worker, &names(&["a", "a.x", "a.z"]));
        let other = got.iter().find(|s| !s.contains(&"a".to_string())).unwrap();
        assert_eq!(other, &names(&["b", "c", "b.y"]));
    }

    #[test]
    fn splits_a_package_larger_than_a_fair_share() {
        let modules = names(&["p", "p.a", "p.b", "p.c"]);
        let got = shards(&modules, 2);
        assert_eq!(got, vec![names(&["p", "p.a"]), names(&["p.b", "p.c"])]);
    }

    #[test]
    fn never_more_workers_than_needed() {
        assert_eq!(shards(&names(&["x"]), 8), vec![names(&["x"])]);
        assert!(shards(&[], 4).is_empty());
        assert_eq!(shards(&names(&["x", "y"]), 0).len(), 1);
    }
}
