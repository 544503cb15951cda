//! What the static pass reads out of one native file, without running it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StaticFacts {
    pub format: BinaryFormat,
    /// One entry for thin binaries, several for Mach-O universal files.
    pub architectures: Vec<Architecture>,
    /// Extension module (has at least one entry point) or a plain shared library.
    pub kind: FileKind,
    pub abi: AbiFacts,
    /// Binding generator, if recognised.
    pub generator: Option<GeneratorFacts>,
    /// One per entry point (`PyInit_x`, `PyInitU_x`, `PyModExport_x`), in symbol order.
    pub modules: Vec<StaticModule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BinaryFormat {
    Elf,
    MachO,
    /// Mach-O universal ("fat") file; facts are from the first slice that holds an entry point.
    MachOFat,
    Pe,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    X86_64,
    Aarch64,
    X86,
    Arm,
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    ExtensionModule,
    SharedLibrary,
}

/// The CPython ABI a file was built for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AbiTarget {
    /// `cpython-313t`, `cp314t`: a free-threaded build of that version ("3.13").
    FreeThreaded {
        version: String,
    },
    /// `cpython-313`, `cp313`: a default (GIL) build of that version.
    Default {
        version: String,
    },
    Abi3,
    Abi3t,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AbiFacts {
    /// From the file name suffix (`.cpython-313t-x86_64-linux-gnu.so`, `.cp313t-win_amd64.pyd`).
    pub from_suffix: AbiTarget,
    /// From the binary itself (def header layout, free-threaded-only imports, python3XXt.dll).
    pub from_binary: AbiTarget,
    /// Why `from_binary` says what it says.
    pub binary_evidence: String,
    /// The best conclusion from both.
    pub conclusion: AbiTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GeneratorFacts {
    pub generator: Generator,
    pub version: Option<String>,
    /// Strings / symbols that identified it.
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Generator {
    Cython,
    Pybind11,
    Pyo3,
    Nanobind,
    Mypyc,
    Cffi,
    Swig,
    /// Hand-written against the C API (no generator fingerprint found).
    PlainC,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryPointKind {
    /// `PyInit_<name>`
    PyInit,
    /// `PyInitU_<punycode>` (non-ASCII module names)
    PyInitU,
    /// `PyModExport_<name>` (3.15, PEP 793)
    PyModExport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InitStyle {
    SinglePhase,
    MultiPhase,
    /// PEP 793 slot export (3.15).
    SlotExport,
    Undeterminable,
}

/// A module declared by one entry point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StaticModule {
    /// The exported symbol, without a Mach-O leading underscore.
    pub entry_point: String,
    pub entry_kind: EntryPointKind,
    /// Module name (last component), decoded from punycode for `PyInitU_`.
    pub name: String,
    pub init_style: InitStyle,
    pub init_style_evidence: String,
    /// The PyModuleDef, when one was located in the file.
    pub def: Option<ModuleDef>,
    pub gil: Verdict<GilDeclaration>,
    pub multiple_interpreters: Verdict<MultiInterpDeclaration>,
    /// The entry point is another's alias, not a module of its own: mypyc's shims export
    /// `PyInit___init__`, which returns `PyInit_<name>()` (a workaround for distutils on
    /// Windows). Absent from the JSON when None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModuleDef {
    /// Virtual address of the PyModuleDef.
    pub address: u64,
    /// Which PyObject header layout the def matched.
    pub layout: DefLayout,
    pub m_name: String,
    pub m_size: i64,
    /// Where m_slots points; None when m_slots is NULL.
    pub slots_address: Option<u64>,
    /// Statically initialised slots; empty when the array is filled at run time.
    pub slots: Vec<ModuleSlot>,
    /// m_slots points into zero-initialised memory (.bss): the slots are built at run time.
    pub slots_built_at_runtime: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DefLayout {
    /// 16-byte PyObject header (default build); m_name at +40.
    Default,
    /// 32-byte PyObject header (free-threaded build); m_name at +56.
    FreeThreaded,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModuleSlot {
    pub id: i32,
    /// `Py_mod_exec`, `Py_mod_gil`, ... or `unknown`.
    pub name: String,
    /// Integer slots hold their value; pointer slots the target address.
    pub value: u64,
    pub address: u64,
}

/// A decision read from the binary, with the evidence it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verdict<T> {
    pub value: T,
    pub evidence: String,
    /// The instructions a verdict read from machine code rests on (schema 1.2); absent from
    /// the JSON when the verdict comes from data alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code: Vec<CodeSite>,
}

/// One instruction of a module's init code that a verdict rests on: a call to
/// `PyUnstable_Module_SetGIL` or `PyModuleDef_Init`, or a store into a slot array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CodeSite {
    /// The function holding the instruction: its symbol when the file names it, else its
    /// address in hex.
    pub function: String,
    /// Virtual address of the instruction.
    pub address: u64,
    /// What it does, e.g. "call PyUnstable_Module_SetGIL" or "store Py_mod_gil id".
    pub action: String,
    /// The register that carries the value (calls), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register: Option<String>,
    /// Where that register got its value, when it was set inside the traced code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_set_at: Option<u64>,
    pub value: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GilDeclaration {
    /// Declares Py_MOD_GIL_NOT_USED (slot) or calls PyUnstable_Module_SetGIL.
    NotUsed,
    /// No declaration, or Py_MOD_GIL_USED: importing it re-enables the GIL.
    Used,
    /// The answer is not in the file's static data (slots built at run time, SetGIL argument in code...).
    Undeterminable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MultiInterpDeclaration {
    /// Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED, or single-phase init.
    NotSupported,
    /// Shared-GIL subinterpreters only (explicit, or the multi-phase default).
    Supported,
    /// Py_MOD_PER_INTERPRETER_GIL_SUPPORTED.
    PerInterpreterGil,
    Undeterminable,
}
