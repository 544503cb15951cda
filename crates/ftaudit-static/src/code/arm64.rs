//! AArch64 through yaxpeax-arm (AAPCS64 on Linux, macOS and Windows). As for x86-64, the
//! instructions that move constants and addresses are applied exactly; any other instruction
//! makes its destination registers unknown, and any store it makes to a known address is a
//! store of an unknown value.

use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::{
    InstDecoder, Instruction, Opcode, Operand, SIMDSizeCode, ShiftStyle, SizeCode,
};

use super::engine::{Cx, Flags, Flow, Isa, Regs, Tracer, Val, Vector, Write};

const SP: usize = 31;
const LR: usize = 30;

pub(crate) struct Arm64;

fn width(size: SizeCode) -> u32 {
    match size {
        SizeCode::X => 64,
        SizeCode::W => 32,
    }
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// A register operand's value: `Register(_, 31)` is the zero register, `RegisterOrSP(_, 31)`
/// the stack pointer.
fn read(regs: &Regs, op: &Operand) -> Val {
    match *op {
        Operand::Register(_, 31) => Val::Const(0),
        Operand::Register(size, n) | Operand::RegisterOrSP(size, n) => {
            let v = regs.get(usize::from(n));
            match (size, v) {
                (SizeCode::W, Val::Const(c)) => Val::Const(c & mask(32)),
                (SizeCode::W, _) if n != 31 => Val::Unknown,
                _ => v,
            }
        }
        Operand::RegShift(ShiftStyle::LSL, 0, size, n) => read(regs, &Operand::Register(size, n)),
        Operand::Immediate(i) => Val::Const(u64::from(i)),
        Operand::Imm64(i) => Val::Const(i),
        Operand::Imm16(i) => Val::Const(u64::from(i)),
        Operand::ImmShift(i, s) => Val::Const(u64::from(i) << s),
        _ => Val::Unknown,
    }
}

/// Writes a destination register (`Register(_, 31)` writes are discarded).
fn write(regs: &mut Regs, op: &Operand, val: Val, at: u64) {
    match *op {
        Operand::Register(_, 31) => {}
        Operand::Register(size, n) | Operand::RegisterOrSP(size, n) => {
            let v = match (size, val) {
                (SizeCode::W, Val::Const(c)) => Val::Const(c & mask(32)),
                (SizeCode::W, _) => Val::Unknown,
                (SizeCode::X, v) => v,
            };
            regs.set(usize::from(n), v, at);
        }
        Operand::SIMDRegister(_, n) => regs.set_vector(usize::from(n), Vector::default()),
        _ => {}
    }
}

fn access_size(op: &Operand, opcode: Opcode) -> u8 {
    match opcode {
        Opcode::STRB | Opcode::LDRB | Opcode::STURB | Opcode::LDURB => 1,
        Opcode::STRH | Opcode::LDRH | Opcode::STURH | Opcode::LDURH => 2,
        _ => match *op {
            Operand::Register(SizeCode::W, _) | Operand::RegisterOrSP(SizeCode::W, _) => 4,
            Operand::SIMDRegister(SIMDSizeCode::B, _) => 1,
            Operand::SIMDRegister(SIMDSizeCode::H, _) => 2,
            Operand::SIMDRegister(SIMDSizeCode::S, _) => 4,
            Operand::SIMDRegister(SIMDSizeCode::Q, _) => 16,
            _ => 8,
        },
    }
}

/// The address a memory operand names, and the base register's value after any writeback.
fn address(regs: &Regs, op: &Operand) -> Option<(Val, Option<(usize, Val)>)> {
    match *op {
        Operand::RegPreIndex(base, off, writeback) => {
            let b = usize::from(base);
            let a = regs.get(b).offset(i64::from(off));
            Some((a, writeback.then_some((b, a))))
        }
        Operand::RegPostIndex(base, off) => {
            let b = usize::from(base);
            let v = regs.get(b);
            Some((v, Some((b, v.offset(i64::from(off))))))
        }
        Operand::RegRegOffset(..) | Operand::RegPostIndexReg(..) => Some((Val::Unknown, None)),
        _ => None,
    }
}

fn pc_offset(i: &Instruction) -> Option<i64> {
    i.operands.iter().find_map(|o| match *o {
        Operand::PCOffset(v) => Some(v),
        _ => None,
    })
}

impl Isa for Arm64 {
    fn args(&self) -> [(usize, &'static str); 2] {
        [(0, "x0"), (1, "x1")]
    }

    fn all_args(&self) -> &'static [usize] {
        &[0, 1, 2, 3, 4, 5, 6, 7, 8]
    }

    fn callee_saved(&self) -> &'static [usize] {
        &[19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]
    }

    fn stack_pointer(&self) -> usize {
        SP
    }

    fn step(&self, t: &mut Tracer<'_, '_>, cx: Cx, regs: &mut Regs, ip: u64) -> Option<Flow> {
        let bytes = t.image.code_at(ip, 4).filter(|b| b.len() == 4)?;
        let i = InstDecoder::default()
            .decode(&mut U8Reader::new(bytes))
            .ok()?;
        if i.opcode == Opcode::Invalid {
            return None;
        }
        let next = ip.wrapping_add(4);
        let ops = i.operands;
        let target = pc_offset(&i).map(|o| ip.wrapping_add(o as u64));
        Some(match i.opcode {
            Opcode::B => Flow::Jump(target?),
            Opcode::BL => {
                t.call(self, cx, regs, Val::Const(target?), ip, false);
                Flow::Next(next)
            }
            Opcode::BLR => {
                let callee = read(regs, &ops[0]);
                t.call(self, cx, regs, callee, ip, false);
                Flow::Next(next)
            }
            Opcode::BR => match read(regs, &ops[0]) {
                Val::Import(api) => {
                    t.call(self, cx, regs, Val::Import(api), ip, true);
                    t.returned(cx, Val::Unknown);
                    Flow::End
                }
                _ => {
                    t.gap(ip, "an indirect jump (a jump table or a computed target)");
                    Flow::End
                }
            },
            Opcode::RET => {
                t.returned(cx, regs.get(0));
                Flow::End
            }
            Opcode::CBZ | Opcode::CBNZ => {
                let known = read(regs, &ops[0])
                    .konst()
                    .map(|v| (v == 0) == (i.opcode == Opcode::CBZ));
                Flow::Branch {
                    taken: target?,
                    fallthrough: next,
                    known,
                }
            }
            Opcode::TBZ | Opcode::TBNZ => {
                let bit = match ops[1] {
                    Operand::Imm16(b) => u32::from(b),
                    _ => 64,
                };
                let known = read(regs, &ops[0])
                    .konst()
                    .filter(|_| bit < 64)
                    .map(|v| ((v >> bit) & 1 == 0) == (i.opcode == Opcode::TBZ));
                Flow::Branch {
                    taken: target?,
                    fallthrough: next,
                    known,
                }
            }
            Opcode::Bcc(cond) => {
                let known = regs.flags.and_then(|f| match cond {
                    0 => Some(f.zero()),
                    1 => Some(!f.zero()),
                    14 => Some(true),
                    _ => None,
                });
                Flow::Branch {
                    taken: target?,
                    fallthrough: next,
                    known,
                }
            }
            Opcode::UDF | Opcode::BRK | Opcode::HLT => Flow::End,
            _ => {
                self.apply(t, cx, regs, &i, ip);
                Flow::Next(next)
            }
        })
    }
}

impl Arm64 {
    fn apply(&self, t: &mut Tracer<'_, '_>, cx: Cx, regs: &mut Regs, i: &Instruction, ip: u64) {
        let ops = &i.operands;
        match i.opcode {
            Opcode::HINT
            | Opcode::PACIASP
            | Opcode::PACIBSP
            | Opcode::AUTIASP
            | Opcode::AUTIBSP
            | Opcode::PRFM => {}
            Opcode::MOVZ => write(regs, &ops[0], read(regs, &ops[1]), ip),
            Opcode::MOVN => {
                let v = read(regs, &ops[1]).konst().map(|c| !c);
                write(regs, &ops[0], v.map_or(Val::Unknown, Val::Const), ip);
            }
            Opcode::MOVK => {
                let v = match (read(regs, &ops[0]), ops[1]) {
                    (Val::Const(old), Operand::ImmShift(imm, shift)) => {
                        Val::Const((old & !(0xffffu64 << shift)) | (u64::from(imm) << shift))
                    }
                    _ => Val::Unknown,
                };
                write(regs, &ops[0], v, ip);
            }
            Opcode::ADRP => {
                let v = pc_offset(i).map(|o| Val::Const((ip & !0xfff).wrapping_add(o as u64)));
                write(regs, &ops[0], v.unwrap_or(Val::Unknown), ip);
            }
            Opcode::ADR => {
                let v = pc_offset(i).map(|o| Val::Const(ip.wrapping_add(o as u64)));
                write(regs, &ops[0], v.unwrap_or(Val::Unknown), ip);
            }
            Opcode::ADD | Opcode::SUB => {
                let a = read(regs, &ops[1]);
                let v = match read(regs, &ops[2]) {
                    Val::Const(c) if i.opcode == Opcode::SUB => a.offset((c as i64).wrapping_neg()),
                    Val::Const(c) => a.offset(c as i64),
                    _ => Val::Unknown,
                };
                write(regs, &ops[0], v, ip);
            }
            Opcode::ORR | Opcode::AND | Opcode::EOR => {
                let v = match (read(regs, &ops[1]), read(regs, &ops[2])) {
                    (Val::Const(a), Val::Const(b)) => Val::Const(match i.opcode {
                        Opcode::ORR => a | b,
                        Opcode::AND => a & b,
                        _ => a ^ b,
                    }),
                    // mov Xd, Xm is orr Xd, xzr, Xm: the value moves whatever it is.
                    (Val::Const(0), v) if i.opcode == Opcode::ORR => v,
                    _ => Val::Unknown,
                };
                write(regs, &ops[0], v, ip);
            }
            Opcode::SUBS | Opcode::ANDS | Opcode::ADDS => {
                let bits = match ops[1] {
                    Operand::Register(s, _) | Operand::RegisterOrSP(s, _) => width(s),
                    _ => 64,
                };
                let (a, b) = (read(regs, &ops[1]), read(regs, &ops[2]));
                regs.flags = match (i.opcode, a, b) {
                    (Opcode::SUBS, Val::Const(left), Val::Const(right)) => Some(Flags {
                        left,
                        right,
                        bits,
                        test: false,
                    }),
                    (Opcode::ANDS, Val::Const(left), Val::Const(right)) => Some(Flags {
                        left,
                        right,
                        bits,
                        test: true,
                    }),
                    _ => None,
                };
                write(regs, &ops[0], Val::Unknown, ip);
            }
            Opcode::CSEL | Opcode::CSINC => {
                let choice = match (regs.flags, ops[3]) {
                    (Some(f), Operand::ConditionCode(0)) => Some(f.zero()),
                    (Some(f), Operand::ConditionCode(1)) => Some(!f.zero()),
                    _ => None,
                };
                let v = match choice {
                    Some(true) => read(regs, &ops[1]),
                    Some(false) if i.opcode == Opcode::CSEL => read(regs, &ops[2]),
                    Some(false) => read(regs, &ops[2])
                        .konst()
                        .map_or(Val::Unknown, |c| Val::Const(c.wrapping_add(1))),
                    None => Val::Unknown,
                };
                write(regs, &ops[0], v, ip);
            }
            Opcode::LDR
            | Opcode::LDUR
            | Opcode::LDRB
            | Opcode::LDRH
            | Opcode::LDURB
            | Opcode::LDURH => {
                match address(regs, &ops[1]) {
                    Some((a, writeback)) => {
                        let size = access_size(&ops[0], i.opcode);
                        let v = if matches!(ops[0], Operand::SIMDRegister(..)) {
                            Val::Unknown
                        } else {
                            t.load(regs, a, size)
                        };
                        write(regs, &ops[0], v, ip);
                        if let Some((b, nv)) = writeback {
                            regs.set(b, nv, ip);
                        }
                    }
                    None => write(regs, &ops[0], Val::Unknown, ip), // a literal load
                }
            }
            Opcode::LDP | Opcode::LDPSW => {
                write(regs, &ops[0], Val::Unknown, ip);
                write(regs, &ops[1], Val::Unknown, ip);
                if let Some((_, Some((b, nv)))) = address(regs, &ops[2]) {
                    regs.set(b, nv, ip);
                }
            }
            Opcode::STR
            | Opcode::STUR
            | Opcode::STRB
            | Opcode::STRH
            | Opcode::STURB
            | Opcode::STURH => {
                if let Some((a, writeback)) = address(regs, &ops[1]) {
                    let size = access_size(&ops[0], i.opcode);
                    self.store_reg(t, cx, regs, &ops[0], a, size, ip);
                    if let Some((b, nv)) = writeback {
                        regs.set(b, nv, ip);
                    }
                }
            }
            Opcode::STP => {
                if let Some((a, writeback)) = address(regs, &ops[2]) {
                    let size = access_size(&ops[0], i.opcode);
                    self.store_reg(t, cx, regs, &ops[0], a, size, ip);
                    self.store_reg(t, cx, regs, &ops[1], a.offset(i64::from(size)), size, ip);
                    if let Some((b, nv)) = writeback {
                        regs.set(b, nv, ip);
                    }
                }
            }
            _ => self.clobber(t, cx, regs, i, ip),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn store_reg(
        &self,
        t: &mut Tracer<'_, '_>,
        cx: Cx,
        regs: &mut Regs,
        src: &Operand,
        a: Val,
        size: u8,
        ip: u64,
    ) {
        let write = match *src {
            Operand::SIMDRegister(_, n) => Write::vector(size, regs.vector(usize::from(n))),
            _ => Write::of(size, read(regs, src)),
        };
        t.store(cx, regs, a, write, ip);
    }

    /// An instruction not modelled: its first operand, when a register, is written with an
    /// unknown value; a store-like instruction (`ST*`) to a known address stores an unknown.
    fn clobber(&self, t: &mut Tracer<'_, '_>, cx: Cx, regs: &mut Regs, i: &Instruction, ip: u64) {
        let name = format!("{:?}", i.opcode);
        let mut memory = None;
        for op in &i.operands {
            if let Some((a, writeback)) = address(regs, op) {
                memory = Some(a);
                if let Some((b, _)) = writeback {
                    regs.set(b, Val::Unknown, ip);
                }
            }
        }
        let stores = ["ST", "SWP", "CAS", "LDADD", "LDCLR", "LDEOR", "LDSET"];
        if stores.iter().any(|p| name.starts_with(p)) {
            if let Some(a) = memory {
                // The width is not worked out here: 16 bytes covers every scalar and pair store.
                t.store(cx, regs, a, Write::unknown(16), ip);
            }
        }
        if !name.starts_with("ST") {
            write(regs, &i.operands[0], Val::Unknown, ip);
            if name.starts_with("LD") || name.starts_with("CAS") || name.starts_with("SWP") {
                write(regs, &i.operands[1], Val::Unknown, ip);
            }
        } else if name.starts_with("STX") || name.starts_with("STLX") {
            write(regs, &i.operands[0], Val::Unknown, ip); // the status register
        }
        if i.opcode == Opcode::BL
            || i.operands
                .iter()
                .any(|o| matches!(o, Operand::Register(_, 30)))
        {
            regs.set(LR, Val::Unknown, ip);
        }
        if name.ends_with('S') || name.starts_with("CCM") || name.starts_with("FCMP") {
            regs.flags = None;
        }
    }
}
