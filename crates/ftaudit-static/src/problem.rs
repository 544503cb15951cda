//! Internal error type; `lib.rs` turns it into the model's `FileProblem`.

use ftaudit_model::{FileProblem, FileProblemKind};

#[derive(Debug)]
pub(crate) struct Problem {
    pub kind: FileProblemKind,
    pub message: String,
}

pub(crate) type ProblemResult<T> = Result<T, Problem>;

impl Problem {
    pub fn new(kind: FileProblemKind, message: impl Into<String>) -> Self {
        Problem {
            kind,
            message: message.into(),
        }
    }

    /// A parser error from `object`: its messages already say which structure was bad.
    pub fn malformed(what: &str, err: object::Error) -> Self {
        Problem::new(FileProblemKind::Malformed, format!("{what}: {err}"))
    }

    pub fn into_file_problem(self, file_name: &str) -> FileProblem {
        FileProblem {
            kind: self.kind,
            message: format!("{file_name}: {}", self.message),
        }
    }
}
