//! x86-64 through iced-x86: the few instructions that move constants around are applied
//! exactly; every other instruction makes the registers and memory it writes unknown (from
//! iced's instruction info), so an unmodelled instruction can only lose knowledge.

use iced_x86::{
    ConditionCode, Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory,
    Mnemonic, OpAccess, OpKind, Register,
};
use std::cell::RefCell;

use super::engine::{Cx, Flags, Flow, Isa, Regs, Tracer, Val, Vector, Write};
use crate::image::CallingConvention;

const RAX: usize = 0;
const RCX: usize = 1;
const RDX: usize = 2;
const RBX: usize = 3;
const RSP: usize = 4;
const RBP: usize = 5;
const RSI: usize = 6;
const RDI: usize = 7;

pub(crate) struct X86 {
    convention: CallingConvention,
    info: RefCell<InstructionInfoFactory>,
}

impl X86 {
    pub fn new(convention: CallingConvention) -> Self {
        X86 {
            convention,
            info: RefCell::new(InstructionInfoFactory::new()),
        }
    }
}

/// The register file index of a general register (any width), and its width in bytes.
fn gpr(reg: Register) -> Option<(usize, usize)> {
    if matches!(
        reg,
        Register::AH | Register::CH | Register::DH | Register::BH
    ) {
        return None;
    }
    let full = reg.full_register();
    let i = (full as u32).checked_sub(Register::RAX as u32)? as usize;
    (i < 16).then(|| (i, reg.size()))
}

fn xmm(reg: Register) -> Option<usize> {
    let i = (reg as u32).checked_sub(Register::XMM0 as u32)? as usize;
    (i < 32).then_some(i)
}

fn mask(bytes: usize) -> u64 {
    if bytes >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * bytes)) - 1
    }
}

impl X86 {
    fn address(&self, regs: &Regs, i: &Instruction) -> Val {
        if i.is_ip_rel_memory_operand() {
            return Val::Const(i.ip_rel_memory_address());
        }
        if matches!(i.memory_segment(), Register::FS | Register::GS) {
            return Val::Unknown; // thread-local
        }
        let base = match i.memory_base() {
            Register::None => Val::Const(0),
            r => match gpr(r) {
                Some((idx, 8)) => regs.get(idx),
                _ => return Val::Unknown,
            },
        };
        let disp = i.memory_displacement64() as i64;
        match i.memory_index() {
            Register::None => base.offset(disp),
            r => match (base, gpr(r).map(|(idx, _)| regs.get(idx))) {
                (Val::Const(b), Some(Val::Const(x))) => Val::Const(
                    b.wrapping_add(x.wrapping_mul(u64::from(i.memory_index_scale())))
                        .wrapping_add(disp as u64),
                ),
                _ => Val::Unknown,
            },
        }
    }

    /// The value of operand `n` (register or immediate), `bytes` wide.
    fn operand(&self, t: &Tracer<'_, '_>, regs: &Regs, i: &Instruction, n: u32) -> Val {
        match i.op_kind(n) {
            OpKind::Register => match gpr(i.op_register(n)) {
                Some((idx, width)) => match regs.get(idx) {
                    Val::Const(v) => Val::Const(v & mask(width)),
                    other if width == 8 => other,
                    _ => Val::Unknown,
                },
                None => Val::Unknown,
            },
            OpKind::Memory => t.load(regs, self.address(regs, i), i.memory_size().size() as u8),
            OpKind::Immediate8
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate64
            | OpKind::Immediate8to16
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64
            | OpKind::Immediate32to64 => Val::Const(i.immediate(n)),
            _ => Val::Unknown,
        }
    }

    /// Writes a general register of any width: 32-bit writes zero the upper half; 8- and
    /// 16-bit writes keep it.
    fn write(regs: &mut Regs, reg: Register, val: Val, at: u64) {
        let Some((idx, width)) = gpr(reg) else {
            return;
        };
        let v = match (width, val) {
            (8, v) => v,
            (4, Val::Const(c)) => Val::Const(c & mask(4)),
            (w, Val::Const(c)) => match regs.get(idx) {
                Val::Const(old) => Val::Const((old & !mask(w)) | (c & mask(w))),
                _ => Val::Unknown,
            },
            _ => Val::Unknown,
        };
        regs.set(idx, v, at);
    }

    /// Forgets what an unmodelled instruction writes.
    fn clobber(&self, t: &mut Tracer<'_, '_>, cx: Cx, regs: &mut Regs, i: &Instruction) {
        let mut factory = self.info.borrow_mut();
        let info = factory.info(i);
        for used in info.used_registers() {
            if matches!(
                used.access(),
                OpAccess::Read | OpAccess::CondRead | OpAccess::NoMemAccess
            ) {
                continue;
            }
            let r = used.register();
            if let Some((idx, _)) = gpr(r) {
                regs.set(idx, Val::Unknown, i.ip());
            } else if matches!(r, Register::AH | Register::CH | Register::DH | Register::BH) {
                regs.set(
                    r.full_register() as usize - Register::RAX as usize,
                    Val::Unknown,
                    i.ip(),
                );
            } else if let Some(x) = xmm(r).or_else(|| {
                (r.is_ymm() || r.is_zmm())
                    .then(|| r.number())
                    .filter(|&n| n < 32)
            }) {
                regs.set_vector(x, Vector::default());
            }
        }
        let writes_memory = info.used_memory().iter().any(|m| {
            !matches!(
                m.access(),
                OpAccess::Read | OpAccess::CondRead | OpAccess::NoMemAccess
            )
        });
        drop(factory);
        if writes_memory
            && i.op_count() > 0
            && (0..i.op_count()).any(|n| i.op_kind(n) == OpKind::Memory)
        {
            let size = i.memory_size().size().clamp(1, 16) as u8;
            let address = self.address(regs, i);
            t.store(cx, regs, address, Write::unknown(size), i.ip());
        } else if writes_memory {
            // push, string stores and the like through registers: a stack write at most.
            if let Val::Stack { .. } = regs.get(RSP) {
                regs.stack.clear();
            }
        }
        if i.rflags_modified() != 0 {
            regs.flags = None;
        }
    }
}

impl Isa for X86 {
    fn args(&self) -> [(usize, &'static str); 2] {
        match self.convention {
            CallingConvention::Microsoft => [(RCX, "rcx"), (RDX, "rdx")],
            _ => [(RDI, "rdi"), (RSI, "rsi")],
        }
    }

    fn all_args(&self) -> &'static [usize] {
        match self.convention {
            CallingConvention::Microsoft => &[RCX, RDX, 8, 9],
            _ => &[RDI, RSI, RDX, RCX, 8, 9],
        }
    }

    fn callee_saved(&self) -> &'static [usize] {
        match self.convention {
            CallingConvention::Microsoft => &[RBX, RBP, RSI, RDI, 12, 13, 14, 15],
            _ => &[RBX, RBP, 12, 13, 14, 15],
        }
    }

    fn stack_pointer(&self) -> usize {
        RSP
    }

    fn step(&self, t: &mut Tracer<'_, '_>, cx: Cx, regs: &mut Regs, ip: u64) -> Option<Flow> {
        let bytes = t.image.code_at(ip, 16)?;
        let mut decoder = Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE);
        let i = decoder.decode();
        if i.is_invalid() {
            return None;
        }
        let next = i.next_ip();
        match i.flow_control() {
            FlowControl::Next => {}
            FlowControl::Return => {
                t.returned(cx, regs.get(RAX));
                return Some(Flow::End);
            }
            FlowControl::UnconditionalBranch => {
                return Some(Flow::Jump(i.near_branch_target()));
            }
            FlowControl::ConditionalBranch => {
                let known = match (regs.flags, i.condition_code()) {
                    (Some(f), ConditionCode::e) => Some(f.zero()),
                    (Some(f), ConditionCode::ne) => Some(!f.zero()),
                    _ => None,
                };
                if matches!(
                    i.mnemonic(),
                    Mnemonic::Jrcxz
                        | Mnemonic::Jecxz
                        | Mnemonic::Loop
                        | Mnemonic::Loope
                        | Mnemonic::Loopne
                ) {
                    regs.set(RCX, Val::Unknown, ip);
                }
                return Some(Flow::Branch {
                    taken: i.near_branch_target(),
                    fallthrough: next,
                    known,
                });
            }
            FlowControl::Call => {
                t.call(
                    self,
                    cx,
                    regs,
                    Val::Const(i.near_branch_target()),
                    ip,
                    false,
                );
                return Some(Flow::Next(next));
            }
            FlowControl::IndirectCall => {
                let target = self.operand(t, regs, &i, 0);
                t.call(self, cx, regs, target, ip, false);
                return Some(Flow::Next(next));
            }
            FlowControl::IndirectBranch => {
                return Some(match self.operand(t, regs, &i, 0) {
                    Val::Import(api) => {
                        t.call(self, cx, regs, Val::Import(api), ip, true);
                        t.returned(cx, Val::Unknown);
                        Flow::End
                    }
                    _ => {
                        t.gap(ip, "an indirect jump (a jump table or a computed target)");
                        Flow::End
                    }
                });
            }
            FlowControl::Interrupt | FlowControl::Exception => return Some(Flow::End),
            FlowControl::XbeginXabortXend => {
                t.gap(ip, "a transactional-memory instruction");
                return Some(Flow::End);
            }
        }
        self.apply(t, cx, regs, &i);
        Some(Flow::Next(next))
    }
}

impl X86 {
    fn apply(&self, t: &mut Tracer<'_, '_>, cx: Cx, regs: &mut Regs, i: &Instruction) {
        let ip = i.ip();
        let k0 = i.op_kind(0);
        let reg0 = (k0 == OpKind::Register).then(|| i.op_register(0));
        match i.mnemonic() {
            Mnemonic::Nop | Mnemonic::Endbr64 | Mnemonic::Prefetchnta | Mnemonic::Prefetcht0 => {}
            Mnemonic::Mov if reg0.and_then(gpr).is_some() => {
                let v = self.operand(t, regs, i, 1);
                X86::write(regs, i.op_register(0), v, ip);
            }
            Mnemonic::Mov if k0 == OpKind::Memory => {
                let size = i.memory_size().size() as u8;
                let v = self.operand(t, regs, i, 1);
                let address = self.address(regs, i);
                t.store(cx, regs, address, Write::of(size, v), ip);
            }
            Mnemonic::Movzx | Mnemonic::Movsx | Mnemonic::Movsxd
                if reg0.and_then(gpr).is_some() =>
            {
                let src_bytes = match i.op_kind(1) {
                    OpKind::Register => i.op_register(1).size(),
                    _ => i.memory_size().size(),
                };
                let v = match self.operand(t, regs, i, 1) {
                    Val::Const(c) if i.mnemonic() == Mnemonic::Movzx => {
                        Val::Const(c & mask(src_bytes))
                    }
                    Val::Const(c) => {
                        let shift = 64 - 8 * src_bytes.clamp(1, 8) as u32;
                        Val::Const((((c << shift) as i64) >> shift) as u64)
                    }
                    _ => Val::Unknown,
                };
                X86::write(regs, i.op_register(0), v, ip);
            }
            Mnemonic::Cdqe => {
                let v = match regs.get(RAX) {
                    Val::Const(c) => Val::Const(c as u32 as i32 as i64 as u64),
                    _ => Val::Unknown,
                };
                regs.set(RAX, v, ip);
            }
            Mnemonic::Lea if reg0.and_then(gpr).is_some() => {
                let v = self.address(regs, i);
                X86::write(regs, i.op_register(0), v, ip);
            }
            Mnemonic::Xor | Mnemonic::Sub
                if reg0.is_some()
                    && i.op_kind(1) == OpKind::Register
                    && i.op_register(1) == i.op_register(0) =>
            {
                X86::write(regs, i.op_register(0), Val::Const(0), ip);
                regs.flags = None;
            }
            Mnemonic::Add | Mnemonic::Sub | Mnemonic::And | Mnemonic::Or | Mnemonic::Xor
                if reg0.and_then(gpr).is_some() =>
            {
                let (idx, width) = gpr(i.op_register(0)).unwrap_or((RAX, 8));
                let a = regs.get(idx);
                let b = self.operand(t, regs, i, 1);
                let v = match (i.mnemonic(), a, b) {
                    (Mnemonic::Add, _, Val::Const(c)) if width == 8 => a.offset(c as i64),
                    (Mnemonic::Sub, _, Val::Const(c)) if width == 8 => {
                        a.offset((c as i64).wrapping_neg())
                    }
                    (m, Val::Const(x), Val::Const(y)) => Val::Const(match m {
                        Mnemonic::Add => x.wrapping_add(y),
                        Mnemonic::Sub => x.wrapping_sub(y),
                        Mnemonic::And => x & y,
                        Mnemonic::Or => x | y,
                        _ => x ^ y,
                    }),
                    _ => Val::Unknown,
                };
                X86::write(regs, i.op_register(0), v, ip);
                regs.flags = None;
            }
            Mnemonic::Cmp | Mnemonic::Test => {
                let bits = match reg0 {
                    Some(r) => 8 * r.size() as u32,
                    None => 8 * i.memory_size().size() as u32,
                };
                let a = self.operand(t, regs, i, 0);
                let b = self.operand(t, regs, i, 1);
                regs.flags = match (a, b) {
                    (Val::Const(left), Val::Const(right)) => Some(Flags {
                        left,
                        right,
                        bits,
                        test: i.mnemonic() == Mnemonic::Test,
                    }),
                    _ => None,
                };
            }
            Mnemonic::Push => {
                let v = self.operand(t, regs, i, 0);
                let sp = regs.get(RSP).offset(-8);
                regs.set(RSP, sp, ip);
                t.store(cx, regs, sp, Write::of(8, v), ip);
            }
            Mnemonic::Pop if reg0.and_then(gpr).is_some() => {
                let sp = regs.get(RSP);
                let v = t.load(regs, sp, 8);
                regs.set(RSP, sp.offset(8), ip);
                X86::write(regs, i.op_register(0), v, ip);
            }
            Mnemonic::Pxor
            | Mnemonic::Xorps
            | Mnemonic::Xorpd
            | Mnemonic::Vpxor
            | Mnemonic::Vxorps
                if (1..i.op_count()).all(|n| {
                    i.op_kind(n) == OpKind::Register && i.op_register(n) == i.op_register(0)
                }) =>
            {
                if let Some(x) = reg0.and_then(xmm) {
                    regs.set_vector(x, Vector::ZERO);
                }
            }
            Mnemonic::Movq | Mnemonic::Movd
                if reg0.and_then(xmm).is_some() && i.op_kind(1) == OpKind::Register =>
            {
                let x = reg0.and_then(xmm).unwrap_or(0);
                let size = i.op_register(1).size() as u8;
                let v = match self.operand(t, regs, i, 1) {
                    Val::Const(c) => Vector::low(c, size),
                    _ => Vector::default(),
                };
                regs.set_vector(x, v);
            }
            Mnemonic::Punpcklqdq
                if reg0.and_then(xmm).is_some() && i.op_kind(1) == OpKind::Register =>
            {
                let x = reg0.and_then(xmm).unwrap_or(0);
                let (lo, hi) = (
                    regs.vector(x),
                    xmm(i.op_register(1)).map(|y| regs.vector(y)),
                );
                let hi = hi.unwrap_or_default();
                regs.set_vector(
                    x,
                    Vector {
                        bytes: (lo.bytes & u128::from(u64::MAX)) | (hi.bytes << 64),
                        known: (lo.known & 0xff) | ((hi.known & 0xff) << 8),
                    },
                );
            }
            Mnemonic::Movaps
            | Mnemonic::Movups
            | Mnemonic::Movdqa
            | Mnemonic::Movdqu
            | Mnemonic::Movapd
            | Mnemonic::Movupd
            | Mnemonic::Vmovaps
            | Mnemonic::Vmovups
            | Mnemonic::Vmovdqa
            | Mnemonic::Vmovdqu
            | Mnemonic::Movq
            | Mnemonic::Movd
                if k0 == OpKind::Memory
                    && i.op_kind(1) == OpKind::Register
                    && xmm(i.op_register(1)).is_some() =>
            {
                let size = i.memory_size().size().min(16) as u8;
                let src = xmm(i.op_register(1)).map_or(Vector::default(), |x| regs.vector(x));
                let address = self.address(regs, i);
                t.store(cx, regs, address, Write::vector(size, src), ip);
            }
            // A 16-byte load from the stack (MSVC builds slot entries there and copies them).
            Mnemonic::Movaps
            | Mnemonic::Movups
            | Mnemonic::Movdqa
            | Mnemonic::Movdqu
            | Mnemonic::Vmovaps
            | Mnemonic::Vmovups
            | Mnemonic::Vmovdqa
            | Mnemonic::Vmovdqu
                if reg0.and_then(xmm).is_some()
                    && i.op_kind(1) == OpKind::Memory
                    && i.memory_size().size() == 16 =>
            {
                let x = reg0.and_then(xmm).unwrap_or(0);
                let v = match self.address(regs, i) {
                    Val::Stack { frame, offset } => regs.stack_vector(frame, offset),
                    _ => Vector::default(),
                };
                regs.set_vector(x, v);
            }
            _ => self.clobber(t, cx, regs, i),
        }
    }
}
