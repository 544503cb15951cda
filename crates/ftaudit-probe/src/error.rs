use std::path::PathBuf;

/// Failures that stop the probe as a whole. A module that crashes, hangs or raises is not an
/// error: it becomes that module's outcome and the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot start the probe worker {}: {source}", worker.display())]
    Spawn {
        worker: PathBuf,
        source: std::io::Error,
    },
    #[error("the probe worker {} failed before importing anything: {reason}{}", worker.display(), format_output(output))]
    Startup {
        worker: PathBuf,
        reason: String,
        output: String,
    },
    #[error("the probe worker {} broke the protocol: {message}", worker.display())]
    Protocol { worker: PathBuf, message: String },
    #[error("the import probe runs on Linux only (workers are contained with process groups, rlimits and network namespaces); the static results stand on their own")]
    Unsupported,
    #[error("the probe was stopped before any worker was ready")]
    Cancelled,
    #[error("probe I/O error ({context}): {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

fn format_output(output: &str) -> String {
    let trimmed = output.trim();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("\nworker output (last lines):\n{trimmed}")
    }
}

impl ProbeError {
    #[cfg(target_os = "linux")]
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ProbeError::Io {
            context: context.into(),
            source,
        }
    }
}
