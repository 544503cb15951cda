//! The architecture-neutral part of the trace: abstract register files, the walk over each
//! function's control-flow graph with joins where paths meet, calls, loads and stores. The
//! instruction sets (x86.rs, arm64.rs) only say what one instruction does to a `Regs`.

use std::collections::HashMap;

use super::{ApiCall, Argument, Gap, Store, Trace, BUDGET, CALLEE_BUDGET, MAX_DEPTH};
use crate::image::{Api, Image};

pub(crate) use super::state::{Flags, Reg, Regs, Val, Vector, Write};

/// Import stubs (PLT entries, Mach-O stubs, thunks) are at most this many instructions.
const STUB_LENGTH: usize = 8;

/// What one instruction does to control flow.
pub(crate) enum Flow {
    Next(u64),
    Jump(u64),
    Branch {
        taken: u64,
        fallthrough: u64,
        known: Option<bool>,
    },
    End,
}

/// Where in the walk an instruction is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cx {
    pub function: u64,
    pub depth: usize,
    /// The call instruction that entered this function, and the function that holds it.
    pub call_site: Option<(u64, u64)>,
}

pub(crate) trait Isa {
    /// The first two argument registers and their names.
    fn args(&self) -> [(usize, &'static str); 2];
    /// All argument registers (a stack address in one escapes to the callee).
    fn all_args(&self) -> &'static [usize];
    fn callee_saved(&self) -> &'static [usize];
    fn stack_pointer(&self) -> usize;
    /// Decodes and applies the instruction at `ip`; None when it cannot be decoded.
    fn step(&self, t: &mut Tracer<'_, '_>, cx: Cx, regs: &mut Regs, ip: u64) -> Option<Flow>;
}

pub(crate) struct Tracer<'i, 'a> {
    pub image: &'i Image<'a>,
    trace: Trace,
    next_frame: u32,
    active: Vec<u64>,
    call_index: HashMap<(u64, Api), usize>,
    store_index: HashMap<(u64, u64, u8), usize>,
    /// Instructions already decoded at this function entry in this walk (for the count).
    steps_in_function: usize,
    /// The instruction count at which the function being walked must stop: a callee gets
    /// `CALLEE_BUDGET` of the rest, so one large callee cannot starve the init function.
    limit: usize,
    /// The function being walked ran out of its share and is abandoned.
    abandoned: bool,
    /// Entry states already walked per callee (values only): a helper called again in the same
    /// state adds nothing but time. Stubs are not kept: their calls are attributed to each site.
    walked: HashMap<u64, Vec<Regs>>,
}

impl<'i, 'a> Tracer<'i, 'a> {
    pub fn new(image: &'i Image<'a>) -> Self {
        Tracer {
            image,
            trace: Trace::default(),
            next_frame: 0,
            active: Vec::new(),
            call_index: HashMap::new(),
            store_index: HashMap::new(),
            steps_in_function: 0,
            limit: BUDGET,
            abandoned: false,
            walked: HashMap::new(),
        }
    }

    pub fn finish(self) -> Trace {
        self.trace
    }

    pub fn run<I: Isa>(&mut self, isa: &I, entry: u64) {
        self.function(isa, entry, Regs::unknown(), 0, None);
    }

    pub fn gap(&mut self, at: u64, what: &'static str) {
        if self.trace.gaps.len() < 64 && !self.trace.gaps.iter().any(|g| g.at == at) {
            self.trace.gaps.push(Gap { at, what });
        }
    }

    fn function<I: Isa>(
        &mut self,
        isa: &I,
        entry: u64,
        mut regs: Regs,
        depth: usize,
        call_site: Option<(u64, u64)>,
    ) {
        let frame = self.next_frame;
        self.next_frame += 1;
        self.trace.functions += 1;
        self.active.push(entry);
        regs.set(isa.stack_pointer(), Val::Stack { frame, offset: 0 }, 0);
        regs.flags = None;
        let cx = Cx {
            function: entry,
            depth,
            call_site,
        };
        let outer_steps = std::mem::replace(&mut self.steps_in_function, 0);
        let mut blocks: HashMap<u64, (Regs, u8)> = HashMap::new();
        let mut work = vec![(entry, regs)];
        while let Some((ip, regs)) = work.pop() {
            let regs = match blocks.get_mut(&ip) {
                Some((old, visits)) => {
                    let mut met = old.meet(&regs);
                    if met == *old {
                        continue;
                    }
                    *visits += 1;
                    if *visits > 3 {
                        // A loop that keeps changing values: forget them rather than iterate.
                        let sp = met.gpr[isa.stack_pointer()];
                        met = Regs::unknown();
                        met.gpr[isa.stack_pointer()] = sp;
                    }
                    *old = met.clone();
                    met
                }
                None => {
                    blocks.insert(ip, (regs.clone(), 0));
                    regs
                }
            };
            self.block(isa, cx, regs, ip, &blocks, &mut work);
            if self.trace.budget_exhausted || self.abandoned {
                break;
            }
        }
        self.steps_in_function = outer_steps;
        self.active.pop();
    }

    fn block<I: Isa>(
        &mut self,
        isa: &I,
        cx: Cx,
        mut regs: Regs,
        mut ip: u64,
        blocks: &HashMap<u64, (Regs, u8)>,
        work: &mut Vec<(u64, Regs)>,
    ) {
        let mut first = true;
        loop {
            if !first && blocks.contains_key(&ip) {
                work.push((ip, regs));
                return;
            }
            first = false;
            if self.trace.instructions >= self.limit {
                if self.limit >= BUDGET {
                    self.trace.budget_exhausted = true;
                } else {
                    self.abandoned = true;
                }
                return;
            }
            self.trace.instructions += 1;
            self.steps_in_function += 1;
            let Some(flow) = isa.step(self, cx, &mut regs, ip) else {
                self.gap(ip, "an instruction that could not be decoded");
                return;
            };
            match flow {
                Flow::Next(next) => ip = next,
                Flow::Jump(target) => {
                    work.push((target, regs));
                    return;
                }
                Flow::Branch {
                    taken,
                    fallthrough,
                    known,
                } => {
                    match known {
                        Some(true) => work.push((taken, regs)),
                        Some(false) => work.push((fallthrough, regs)),
                        None => {
                            work.push((fallthrough, regs.clone()));
                            work.push((taken, regs));
                        }
                    }
                    return;
                }
                Flow::End => return,
            }
        }
    }

    /// A call (or, with `tail`, a jump that leaves the function) to `target`. Afterwards the
    /// registers a callee may change are unknown.
    pub fn call<I: Isa>(
        &mut self,
        isa: &I,
        cx: Cx,
        regs: &mut Regs,
        target: Val,
        at: u64,
        tail: bool,
    ) {
        match target {
            Val::Import(Api::Other) => {}
            Val::Import(api) => self.record_call(isa, cx, regs, api, at, tail),
            Val::Const(addr) => {
                if self.active.contains(&addr) {
                    // Recursion adds nothing the first walk did not see.
                } else if cx.depth + 1 > MAX_DEPTH {
                    self.gap(at, "a call deeper than the depth followed");
                } else {
                    let state = regs.values_only();
                    let seen = self
                        .walked
                        .get(&addr)
                        .is_some_and(|states| states.contains(&state));
                    if !seen {
                        let mut callee = regs.clone();
                        callee.flags = None;
                        let outer = self.limit;
                        let before = self.trace.instructions;
                        self.limit = outer.min(before + CALLEE_BUDGET);
                        self.function(isa, addr, callee, cx.depth + 1, Some((cx.function, at)));
                        self.limit = outer;
                        if self.abandoned {
                            self.abandoned = false;
                            self.gap(at, "a call into a function larger than the share followed");
                        } else if self.trace.instructions - before > STUB_LENGTH {
                            let states = self.walked.entry(addr).or_default();
                            if states.len() < 8 {
                                states.push(state);
                            }
                        }
                    }
                }
            }
            _ => self.gap(
                at,
                "an indirect call through a pointer not known statically",
            ),
        }
        let saved = isa.callee_saved();
        for (i, r) in regs.gpr.iter_mut().enumerate() {
            if !saved.contains(&i) && i != isa.stack_pointer() {
                *r = Reg {
                    val: Val::Unknown,
                    set_at: at,
                };
            }
        }
        regs.forget_vectors();
        regs.flags = None;
        let escaped = !regs.stack.is_empty()
            && isa
                .all_args()
                .iter()
                .any(|&r| matches!(regs.get(r), Val::Stack { .. }));
        if escaped {
            regs.stack.clear();
        }
    }

    fn record_call<I: Isa>(&mut self, isa: &I, cx: Cx, regs: &Regs, api: Api, at: u64, tail: bool) {
        // A tail jump from a stub (PLT entry, Mach-O stub, import thunk) is the caller's call.
        let (function, at) = match cx.call_site {
            Some((caller, site)) if tail && self.steps_in_function <= 4 => (caller, site),
            _ => (cx.function, at),
        };
        let args = isa.args().map(|(reg, register)| {
            let r = regs.gpr[reg];
            Argument {
                register,
                value: r.val.konst(),
                set_at: (r.set_at != 0 && r.val.konst().is_some()).then_some(r.set_at),
            }
        });
        match self.call_index.get(&(at, api)) {
            Some(&i) => {
                let old = &mut self.trace.calls[i];
                for (o, n) in old.args.iter_mut().zip(args) {
                    if o.value != n.value {
                        o.value = None;
                        o.set_at = None;
                    }
                }
            }
            None => {
                self.call_index.insert((at, api), self.trace.calls.len());
                self.trace.calls.push(ApiCall {
                    api,
                    at,
                    function,
                    args,
                });
            }
        }
    }

    /// The value `size` bytes at `address` hold when loaded: import slots and relocated
    /// pointers are known from the file; stack slots from this path's stores.
    pub fn load(&self, regs: &Regs, address: Val, size: u8) -> Val {
        match address {
            Val::Const(a) if size == 8 => {
                if let Some(api) = self.image.import_at(a) {
                    Val::Import(api)
                } else if let Some(t) = self.image.pointer_target(a) {
                    Val::Const(t)
                } else {
                    Val::Unknown
                }
            }
            Val::Stack { frame, offset } => match regs.stack.get(&(frame, offset)) {
                Some(&(v, s)) if s == size => v,
                Some(&(Val::Const(v), s)) if s > size => {
                    Val::Const(v & ((1u64 << (8 * u32::from(size))) - 1))
                }
                _ => Val::Unknown,
            },
            _ => Val::Unknown,
        }
    }

    /// A store of `write.size` bytes (at most 16) to `address`.
    pub fn store(&mut self, cx: Cx, regs: &mut Regs, address: Val, write: Write, at: u64) {
        let Write {
            size,
            bytes,
            known,
            val,
        } = write;
        match address {
            Val::Const(a) => {
                let key = (at, a, size);
                match self.store_index.get(&key) {
                    Some(&i) => {
                        // Seen before on another path: only bytes both paths agree on stay known.
                        let old = &mut self.trace.stores[i];
                        let merged = Vector {
                            bytes: old.bytes,
                            known: old.known,
                        }
                        .meet(Vector { bytes, known });
                        old.known = merged.known;
                    }
                    None if self.trace.stores.len() < 4096 => {
                        self.store_index.insert(key, self.trace.stores.len());
                        self.trace.stores.push(Store {
                            at,
                            function: cx.function,
                            address: a,
                            size,
                            bytes,
                            known,
                        });
                    }
                    None => {}
                }
            }
            Val::Stack { frame, offset } => {
                let v = if size <= 8 { val } else { Val::Unknown };
                regs.write_stack(frame, offset, size, v);
            }
            _ => {}
        }
    }

    /// The init function's own return value, at a return instruction.
    pub fn returned(&mut self, cx: Cx, value: Val) {
        if cx.depth == 0 {
            self.trace.returns.push(value.konst());
        }
    }
}
