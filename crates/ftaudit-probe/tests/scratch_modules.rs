//! Behaviour that needs modules the fixture venv has no reason to hold: small pure-Python
//! modules written for the test into a temporary site folder, probed by the real worker.

mod common;

use std::path::Path;

use ftaudit_model::ImportOutcome;
use ftaudit_probe::ProbePlan;

fn write(dir: &Path, name: &str, code: &str) {
    std::fs::write(dir.join(name), code).unwrap();
}

/// os.environ is process-wide while sys.modules is per interpreter, so this module can tell
/// its first import (the main interpreter) from the next (the isolated subinterpreter).
const ABORT_IN_SUBINTERPRETER: &str = "
import os
if os.environ.get('FTAUDIT_TEST_LOADED_ONCE'):
    os.abort()
os.environ['FTAUDIT_TEST_LOADED_ONCE'] = '1'
";

#[test]
fn a_crash_in_a_subinterpreter_keeps_the_main_import_result() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ftscratch_sub_abort.py",
        ABORT_IN_SUBINTERPRETER,
    );
    write(dir.path(), "ftscratch_after.py", "print('after ran')\n");
    let plan = ProbePlan {
        site_dirs: vec![dir.path().to_path_buf()],
        modules: vec!["ftscratch_sub_abort".into(), "ftscratch_after".into()],
    };
    let (run, facts) =
        ftaudit_probe::run(&common::config(1, 60, true), &plan, &|_| {}).expect("probe");

    let crashed = common::find(&facts, "ftscratch_sub_abort");
    assert_eq!(crashed.import, ImportOutcome::Ok);
    assert_eq!(crashed.requires_gil, Some(false));
    assert!(
        matches!(&crashed.isolated_subinterpreter, Some(ImportOutcome::Crashed { signal: Some(libc::SIGABRT), description })
            if description.contains("isolated subinterpreter")),
        "{:?}",
        crashed.isolated_subinterpreter
    );
    assert!(matches!(
        crashed.legacy_subinterpreter,
        Some(ImportOutcome::NotAttempted { .. })
    ));

    let after = common::find(&facts, "ftscratch_after");
    assert_eq!(after.import, ImportOutcome::Ok);
    assert_eq!(after.isolated_subinterpreter, Some(ImportOutcome::Ok));
    assert_eq!(after.legacy_subinterpreter, Some(ImportOutcome::Ok));
    assert_eq!(after.output.as_deref(), Some("after ran\n"));
    assert_eq!(run.worker_processes, 2);
}

#[test]
fn workers_run_scrubbed_in_a_scratch_folder() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ftscratch_env.py",
        "import os, sys\n\
         print('PYTHON_VARS=' + ','.join(sorted(k for k in os.environ if k.startswith('PYTHON'))))\n\
         print('CWD_IS_HOME_PARENT=' + str(os.path.dirname(os.environ['HOME']) == os.getcwd()))\n\
         print('STDIN=' + repr(sys.stdin.read()))\n\
         print('SITE_IN_PATH=' + str(any(p.endswith('site-packages') for p in sys.path)))\n\
         from importlib.machinery import ExtensionFileLoader as L\n\
         print('PRELOADED=' + repr(sorted(n for n, m in list(sys.modules.items())\n\
             if isinstance(getattr(getattr(m, '__spec__', None), 'loader', None), L))))\n",
    );
    let plan = ProbePlan {
        site_dirs: vec![dir.path().to_path_buf()],
        modules: vec!["ftscratch_env".into()],
    };
    let (_, facts) =
        ftaudit_probe::run(&common::config(1, 60, false), &plan, &|_| {}).expect("probe");
    let out = facts[0].output.clone().unwrap_or_default();
    assert!(out.contains("PYTHON_VARS=\n"), "{out}");
    assert!(out.contains("CWD_IS_HOME_PARENT=True"), "{out}");
    assert!(out.contains("STDIN=''"), "{out}");
    // site_import is off: the base interpreter's own site-packages never joins sys.path.
    assert!(out.contains("SITE_IN_PATH=False"), "{out}");
    // The worker's own set-up loads no extension module, so none is "already loaded" unseen.
    assert!(out.contains("PRELOADED=[]"), "{out}");
}

#[test]
fn a_missing_worker_is_a_clear_error() {
    let mut config = common::config(1, 5, false);
    config.worker.program = "/nonexistent/ftaudit-worker".into();
    let err = ftaudit_probe::run(&config, &common::plan(&["ftfix_mp_gil_not_used"]), &|_| {})
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("/nonexistent/ftaudit-worker"), "{text}");
}

#[test]
fn output_through_the_real_streams_stays_with_its_module() {
    let dir = tempfile::tempdir().unwrap();
    // Buffered writes to sys.__stdout__ reach fd 1 only when flushed: the worker flushes them
    // before the next module's marker.
    write(
        dir.path(),
        "ftscratch_dunder.py",
        "import sys\nsys.__stdout__.write('real stdout\\n')\nsys.__stderr__.write('real stderr\\n')\n",
    );
    write(dir.path(), "ftscratch_next.py", "print('next')\n");
    let plan = ProbePlan {
        site_dirs: vec![dir.path().to_path_buf()],
        modules: vec!["ftscratch_dunder".into(), "ftscratch_next".into()],
    };
    let (_, facts) =
        ftaudit_probe::run(&common::config(1, 60, false), &plan, &|_| {}).expect("probe");
    assert_eq!(
        common::find(&facts, "ftscratch_dunder").output.as_deref(),
        Some("real stdout\nreal stderr\n")
    );
    assert_eq!(
        common::find(&facts, "ftscratch_next").output.as_deref(),
        Some("next\n")
    );
}

/// An import runs arbitrary code: the worker gets no network (where the kernel allows a network
/// namespace), a scratch HOME and working folder, and the report says how it was isolated.
#[test]
fn workers_have_no_network_and_a_scratch_home_and_cwd() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ftscratch_net.py",
        &format!(
            "import os, socket\n\
             s = socket.socket()\n\
             s.settimeout(5)\n\
             try:\n    s.connect(('127.0.0.1', {port}))\n    print('connected')\n\
             except OSError as e:\n    print('no connection:', e.errno)\n\
             print('cwd', os.getcwd())\n\
             print('home', os.environ['HOME'])\n"
        ),
    );
    let plan = ProbePlan {
        site_dirs: vec![dir.path().to_path_buf()],
        modules: vec!["ftscratch_net".into()],
    };
    let (run, facts) =
        ftaudit_probe::run(&common::config(1, 60, false), &plan, &|_| {}).expect("probe");
    let output = common::find(&facts, "ftscratch_net")
        .output
        .clone()
        .unwrap_or_default();

    let kernel_allows = std::process::Command::new("unshare")
        .args(["--net", "true"])
        .status()
        .is_ok_and(|s| s.success())
        || std::process::Command::new("unshare")
            .args(["--user", "--net", "true"])
            .status()
            .is_ok_and(|s| s.success());
    if kernel_allows {
        assert!(run.network.isolated, "{:?}", run.network);
        assert!(output.contains("no connection:"), "{output}");
        let accepted = listener.accept();
        assert!(
            matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "the worker reached 127.0.0.1:{port}: {accepted:?}"
        );
    } else {
        // Said, not hidden: the report carries why.
        assert!(!run.network.isolated);
        assert!(
            run.network.detail.contains("could not"),
            "{:?}",
            run.network
        );
    }
    let line = |key: &str| {
        output
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {output}"))
            .to_string()
    };
    let (cwd, home) = (line("cwd "), line("home "));
    assert!(cwd.contains("ftaudit-child-"), "{cwd}");
    assert!(home.starts_with(&cwd) && home.ends_with("/home"), "{home}");
    assert!(
        !std::path::Path::new(&cwd).exists(),
        "the scratch folder is removed after the run"
    );
}

/// Each import appends `name@interpreter` to a process-wide log; `z` raises it in any
/// subinterpreter, so the test can see which interpreter each check ran in.
const LOGGING_MODULE: &str = "
import os, _interpreters
_me = _interpreters.get_current()[0]
os.environ['FTSCRATCH_LOG'] = os.environ.get('FTSCRATCH_LOG', '') + f' {__name__}@{_me}'
";

/// Modules of one package share a subinterpreter, one after another; but a module that an
/// earlier one already loaded there is checked in a fresh interpreter instead.
#[test]
fn modules_of_a_package_share_a_subinterpreter_unless_already_loaded_there() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("ftscratch_pkg");
    std::fs::create_dir(&pkg).unwrap();
    write(&pkg, "__init__.py", "");
    write(
        &pkg,
        "a.py",
        &format!("{LOGGING_MODULE}\nfrom . import b\n"),
    );
    write(&pkg, "b.py", LOGGING_MODULE);
    write(
        &pkg,
        "z.py",
        &format!(
            "{LOGGING_MODULE}\nif _me != _interpreters.get_main()[0]:\n    raise ImportError(os.environ['FTSCRATCH_LOG'])\n"
        ),
    );
    let modules = ["ftscratch_pkg.a", "ftscratch_pkg.b", "ftscratch_pkg.z"];
    let plan = ProbePlan {
        site_dirs: vec![dir.path().to_path_buf()],
        modules: modules.iter().map(|m| m.to_string()).collect(),
    };
    let (_, facts) =
        ftaudit_probe::run(&common::config(1, 60, true), &plan, &|_| {}).expect("probe");
    for module in &modules[..2] {
        let f = common::find(&facts, module);
        assert_eq!(
            f.isolated_subinterpreter,
            Some(ImportOutcome::Ok),
            "{module}"
        );
    }
    let Some(ImportOutcome::Error { message, .. }) =
        &common::find(&facts, "ftscratch_pkg.z").isolated_subinterpreter
    else {
        panic!("z must raise its log in the subinterpreter: {facts:?}");
    };
    // After the main imports (@0): a loads b in one interpreter; b, already loaded there, is
    // checked in a second one; z shares that second one.
    let entries: Vec<(&str, u64)> = message
        .split_whitespace()
        .map(|e| {
            let (name, id) = e.split_once('@').unwrap();
            (
                name.trim_start_matches("ftscratch_pkg."),
                id.parse().unwrap(),
            )
        })
        .filter(|(_, id)| *id != 0)
        .collect();
    let [("a", first), ("b", same), ("b", second), ("z", shared)] = entries[..] else {
        panic!("unexpected order of imports: {message}");
    };
    assert_eq!(first, same, "{message}");
    assert_ne!(
        first, second,
        "b was checked in a fresh interpreter: {message}"
    );
    assert_eq!(second, shared, "z shared b's interpreter: {message}");
}
