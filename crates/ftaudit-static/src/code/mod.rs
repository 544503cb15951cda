//! Following a module's init code (issue 10): what a `PyInit_*` function passes to
//! `PyUnstable_Module_SetGIL` and `PyModuleDef_Init`, and which constants it stores into static
//! memory (a slot array built at run time). Only the init function and the functions it calls
//! directly are followed (to `MAX_DEPTH`), with a budget of instructions per module, so whole
//! text sections are never disassembled.
//!
//! The method is constant propagation over the control-flow graph: registers (and the stack
//! slots of each frame) hold a known constant, the address of an imported function, or
//! nothing known. Where paths meet, values that differ become unknown. A branch on a known
//! value follows only the side it takes. Nothing is guessed: a value is known only when every
//! path that reaches the instruction gives the same constant.
//!
//! Assumptions, stated so they can be checked: callees keep the callee-saved registers of
//! their calling convention, and imported functions other than the ones looked for do not
//! write the module's static data.

mod arm64;
mod decide;
mod engine;
mod state;
mod x86;

pub(crate) use decide::{built_slots, from_built, set_gil, trace_limits, Names};

use std::collections::BTreeMap;

use ftaudit_model::Architecture;

use crate::image::{Api, Image};

use engine::Tracer;

/// Instructions decoded per module, over every function followed.
const BUDGET: usize = 6_000;
/// Instructions one call may take, with everything it calls in turn.
const CALLEE_BUDGET: usize = 1_000;
/// Call depth below the init function: 1 reaches its callees (a PLT stub counts as one).
const MAX_DEPTH: usize = 8;

/// A value passed in an argument register at a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Argument {
    pub register: &'static str,
    pub value: Option<u64>,
    /// The instruction that put the value there, when known.
    pub set_at: Option<u64>,
}

/// A call to one of the CPython functions looked for, with its first two arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiCall {
    pub api: Api,
    pub at: u64,
    /// The entry address of the function that contains the call.
    pub function: u64,
    pub args: [Argument; 2],
}

/// A store of `size` bytes to a constant address: `bytes`, of which those whose bit is set in
/// `known` are known (MSVC copies 16-byte slot entries whose padding is not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Store {
    pub at: u64,
    pub function: u64,
    pub address: u64,
    pub size: u8,
    pub bytes: u128,
    pub known: u16,
}

impl Store {
    fn byte(&self, i: u64) -> Option<u8> {
        ((self.known >> i) & 1 == 1).then_some((self.bytes >> (8 * i)) as u8)
    }
}

/// Somewhere the trace could not follow: what might happen there is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gap {
    pub at: u64,
    pub what: &'static str,
}

#[derive(Debug, Default)]
pub(crate) struct Trace {
    pub calls: Vec<ApiCall>,
    pub stores: Vec<Store>,
    /// Values returned by the init function itself (PyModExport_ returns its slot array).
    pub returns: Vec<Option<u64>>,
    pub gaps: Vec<Gap>,
    pub functions: usize,
    pub instructions: usize,
    pub budget_exhausted: bool,
}

impl Trace {
    /// Nothing was left unfollowed: absence of a call or store is then meaningful.
    pub fn complete(&self) -> bool {
        self.gaps.is_empty() && !self.budget_exhausted
    }

    /// The value of memory at `address`, `size` bytes, as the traced stores leave it: None
    /// when no store covers it, Some(None) when stores cover it with unknown or conflicting
    /// values.
    pub fn stored(&self, address: u64, size: u8) -> Option<Option<u128>> {
        let mut bytes: BTreeMap<u64, Option<u8>> = BTreeMap::new();
        for s in &self.stores {
            let (lo, hi) = (s.address, s.address.wrapping_add(u64::from(s.size)));
            let end = address.saturating_add(u64::from(size));
            if hi <= address || lo >= end || hi < lo {
                continue;
            }
            for a in lo.max(address)..hi.min(end) {
                let byte = s.byte(a - lo);
                let entry = bytes.entry(a).or_insert(byte);
                if *entry != byte {
                    *entry = None;
                }
            }
        }
        if bytes.is_empty() {
            return None;
        }
        if bytes.len() < usize::from(size) {
            return Some(None); // partly stored: the rest is not known here
        }
        let mut value = 0u128;
        for (i, (_, b)) in bytes.iter().enumerate() {
            value |= u128::from((*b)?) << (8 * i);
        }
        Some(Some(value))
    }
}

/// Why a trace could not be made at all.
pub(crate) fn trace_init(image: &Image<'_>, entry: u64) -> Result<Trace, String> {
    let mut tracer = Tracer::new(image);
    match image.arch {
        Architecture::X86_64 => tracer.run(&x86::X86::new(image.calling_convention), entry),
        Architecture::Aarch64 => tracer.run(&arm64::Arm64, entry),
        ref other => return Err(format!("{other:?} machine code is not followed")),
    }
    Ok(tracer.finish())
}
