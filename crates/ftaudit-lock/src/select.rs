//! Choosing one wheel of a release for a target, or saying precisely why there is none.

use crate::parse::{DistFile, Pin};
use crate::tags::{wheel_rank, WheelName};
use crate::{HashCheck, NoWheelReason, Target};

pub(crate) enum Choice {
    /// A wheel with code for this platform (its native members are read).
    Native(DistFile),
    /// The best wheel is `none-any`: no native code here. Whether that is worth reporting
    /// depends on the other targets (see `PureOnlyHere`).
    Pure(DistFile),
    None(NoWheelReason),
}

/// The best wheel of `files` (one release's) for `target`, honouring the pin's hashes the way
/// `pip --require-hashes` does: only files whose hash the lock lists are candidates.
pub(crate) fn choose(pin: &Pin, files: &[DistFile], target: &Target) -> Choice {
    let wheels: Vec<(&DistFile, WheelName)> = files
        .iter()
        .filter_map(|f| WheelName::parse(&f.filename).map(|w| (f, w)))
        .collect();
    let best = |python: &crate::PythonTarget, allowed: &dyn Fn(&DistFile) -> bool| {
        wheels
            .iter()
            .filter(|(f, _)| allowed(f))
            .filter_map(|(f, w)| {
                wheel_rank(w, python, &target.platform).map(|r| (r, build_number(w), *f, w))
            })
            // Lowest rank wins; among equal tags the highest build number (PEP 427).
            .min_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, _, f, w)| (f, w))
    };
    let in_lock = |f: &DistFile| {
        pin.sha256.is_empty() || f.sha256.as_ref().is_none_or(|h| pin.sha256.contains(h))
    };
    if let Some((file, wheel)) = best(&target.python, &in_lock) {
        return if wheel.is_pure() {
            Choice::Pure(file.clone())
        } else {
            Choice::Native(file.clone())
        };
    }
    if let Some((file, _)) = best(&target.python, &|_| true) {
        // A wheel fits, but its hash is not in the lock.
        let lock_matches_release = files
            .iter()
            .any(|f| f.sha256.as_ref().is_some_and(|h| pin.sha256.contains(h)));
        return Choice::None(if lock_matches_release {
            NoWheelReason::NotInLock {
                wheel: file.filename.clone(),
            }
        } else {
            NoWheelReason::HashMismatch {
                file: file.filename.clone(),
                expected: pin.sha256.clone(),
                actual: file.sha256.clone().unwrap_or_default(),
                checked: HashCheck::Index,
            }
        });
    }
    if wheels.is_empty() {
        return Choice::None(match files.first() {
            Some(sdist) => NoWheelReason::OnlySdist {
                sdist: sdist.filename.clone(),
            },
            None => NoWheelReason::NoFiles,
        });
    }
    if target.python.free_threaded {
        if let Some((file, _)) = best(&target.python.with_gil(), &|_| true) {
            return Choice::None(NoWheelReason::OnlyGilBuild {
                wheel: file.filename.clone(),
            });
        }
    }
    let mut available: Vec<String> = wheels
        .iter()
        .map(|(_, w)| {
            format!(
                "{}-{}-{}",
                w.python_tags.join("."),
                w.abi_tags.join("."),
                w.platform_tags.join(".")
            )
        })
        .collect();
    available.sort();
    available.dedup();
    Choice::None(NoWheelReason::NoneForTarget { available })
}

fn build_number(wheel: &WheelName) -> u64 {
    wheel.build.as_deref().map_or(0, |b| {
        b.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, sha: char) -> DistFile {
        DistFile {
            filename: name.into(),
            url: format!("https://f.test/{name}"),
            sha256: Some(sha.to_string().repeat(64)),
            size: None,
        }
    }

    fn pin(hashes: &[char]) -> Pin {
        Pin {
            name: "a".into(),
            version: "1".into(),
            sha256: hashes.iter().map(|c| c.to_string().repeat(64)).collect(),
            marker: None,
            files: None,
            index: None,
            line: 1,
        }
    }

    fn target(platform: &str) -> Target {
        Target {
            python: "3.14t".parse().unwrap(),
            platform: platform.parse().unwrap(),
        }
    }

    #[test]
    fn reasons_for_each_kind_of_absence() {
        let files = vec![
            file(
                "a-1-cp314-cp314t-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                'a',
            ),
            file("a-1-cp314-cp314-win_amd64.whl", 'b'),
            file("a-1-cp313-cp313t-macosx_11_0_arm64.whl", 'c'),
            file("a-1.tar.gz", 'd'),
        ];
        let linux = choose(&pin(&[]), &files, &target("manylinux_2_28_x86_64"));
        assert!(matches!(linux, Choice::Native(f) if f.filename.contains("manylinux")));
        match choose(&pin(&[]), &files, &target("win_amd64")) {
            Choice::None(NoWheelReason::OnlyGilBuild { wheel }) => {
                assert_eq!(wheel, "a-1-cp314-cp314-win_amd64.whl")
            }
            _ => panic!("expected OnlyGilBuild"),
        }
        match choose(&pin(&[]), &files, &target("macosx_14_0_arm64")) {
            Choice::None(NoWheelReason::NoneForTarget { available }) => assert_eq!(
                available,
                [
                    "cp313-cp313t-macosx_11_0_arm64",
                    "cp314-cp314-win_amd64",
                    "cp314-cp314t-manylinux_2_17_x86_64.manylinux2014_x86_64"
                ]
            ),
            _ => panic!("expected NoneForTarget"),
        }
        match choose(&pin(&[]), &files[3..], &target("win_amd64")) {
            Choice::None(NoWheelReason::OnlySdist { sdist }) => assert_eq!(sdist, "a-1.tar.gz"),
            _ => panic!("expected OnlySdist"),
        }
        // The lock pins the sdist's hash only: the fitting wheel is not in the lock.
        assert!(matches!(
            choose(&pin(&['d']), &files, &target("manylinux_2_28_x86_64")),
            Choice::None(NoWheelReason::NotInLock { .. })
        ));
        // The lock's hash is of no file the index has: a mismatch.
        assert!(matches!(
            choose(&pin(&['e']), &files, &target("manylinux_2_28_x86_64")),
            Choice::None(NoWheelReason::HashMismatch {
                checked: HashCheck::Index,
                ..
            })
        ));
        let pure = vec![file("a-1-py3-none-any.whl", 'f')];
        assert!(matches!(
            choose(&pin(&[]), &pure, &target("win_amd64")),
            Choice::Pure(_)
        ));
    }
}
