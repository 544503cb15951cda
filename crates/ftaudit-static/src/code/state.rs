//! The abstract machine state one path carries through the trace: what registers, vector
//! registers and stack slots hold, the last comparison, and what a store writes.

use crate::image::Api;

/// What a register or stack slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Val {
    Unknown,
    Const(u64),
    /// The address of an imported function (loaded from its import slot).
    Import(Api),
    /// An address in the stack frame of function number `frame`, `offset` bytes from the
    /// stack pointer at its entry.
    Stack {
        frame: u32,
        offset: i64,
    },
}

impl Val {
    pub fn konst(self) -> Option<u64> {
        match self {
            Val::Const(v) => Some(v),
            _ => None,
        }
    }

    /// `self + delta`, for constants and stack addresses.
    pub fn offset(self, delta: i64) -> Val {
        match self {
            Val::Const(v) => Val::Const(v.wrapping_add(delta as u64)),
            Val::Stack { frame, offset } => Val::Stack {
                frame,
                offset: offset.wrapping_add(delta),
            },
            _ => Val::Unknown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reg {
    pub val: Val,
    /// The instruction that gave the value (0: on entry).
    pub set_at: u64,
}

pub(crate) const UNKNOWN: Reg = Reg {
    val: Val::Unknown,
    set_at: 0,
};

/// The outcome of the last comparison, when both sides were constants: (left, right, width in
/// bits, whether it was a `test`, i.e. a bitwise and).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flags {
    pub left: u64,
    pub right: u64,
    pub bits: u32,
    pub test: bool,
}

impl Flags {
    fn mask(&self) -> u64 {
        if self.bits >= 64 {
            u64::MAX
        } else {
            (1u64 << self.bits) - 1
        }
    }
    /// The zero flag.
    pub fn zero(&self) -> bool {
        let m = self.mask();
        if self.test {
            self.left & self.right & m == 0
        } else {
            self.left & m == self.right & m
        }
    }
}

/// One path's view of the machine: general registers (x86: rax..r15 as 0..15; arm64:
/// x0..x30 and sp as 31), vector registers, the stack slots written so far, the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Regs {
    pub gpr: [Reg; 32],
    /// Vector registers with at least one known byte, by number (few at a time, so a short
    /// list keeps the state small to copy at every branch).
    vec: Vec<(u8, Vector)>,
    /// Known stack slots of every frame on this path.
    pub stack: StackSlots,
    pub flags: Option<Flags>,
}

impl Regs {
    pub(crate) fn unknown() -> Regs {
        Regs {
            gpr: [UNKNOWN; 32],
            vec: Vec::new(),
            stack: StackSlots::default(),
            flags: None,
        }
    }

    pub fn set(&mut self, reg: usize, val: Val, at: u64) {
        if let Some(r) = self.gpr.get_mut(reg) {
            *r = Reg { val, set_at: at };
        }
    }

    pub fn get(&self, reg: usize) -> Val {
        self.gpr.get(reg).map_or(Val::Unknown, |r| r.val)
    }

    pub fn vector(&self, reg: usize) -> Vector {
        self.vec
            .iter()
            .find(|(r, _)| usize::from(*r) == reg)
            .map_or(Vector::default(), |(_, v)| *v)
    }

    /// Forgets every vector register (a call may change them all).
    pub fn forget_vectors(&mut self) {
        self.vec.clear();
    }

    pub fn set_vector(&mut self, reg: usize, v: Vector) {
        self.vec.retain(|(r, _)| usize::from(*r) != reg);
        if v.known != 0 && reg < 32 {
            self.vec.push((reg as u8, v));
        }
    }

    /// The 16 bytes at a stack address, as far as this path's stack slots know them.
    pub fn stack_vector(&self, frame: u32, offset: i64) -> Vector {
        let mut v = Vector::default();
        for &((_, o), (val, size)) in self.stack.range(
            (frame, offset.saturating_sub(15)),
            (frame, offset.saturating_add(16)),
        ) {
            let Val::Const(c) = val else { continue };
            for i in 0..i64::from(size.min(8)) {
                let at = o.wrapping_sub(offset).wrapping_add(i);
                if (0..16).contains(&at) {
                    v.bytes |= u128::from((c >> (8 * i)) as u8) << (8 * at);
                    v.known |= 1 << at;
                }
            }
        }
        v
    }

    /// The values alone, without where they were set or the flags: a callee's entry state.
    pub(crate) fn values_only(&self) -> Regs {
        let mut out = self.clone();
        for r in out.gpr.iter_mut() {
            r.set_at = 0;
        }
        out.flags = None;
        out
    }

    /// What two paths agree on.
    pub(crate) fn meet(&self, other: &Regs) -> Regs {
        let mut out = self.clone();
        for (a, b) in out.gpr.iter_mut().zip(&other.gpr) {
            if a.val != b.val {
                *a = UNKNOWN;
            } else if a.set_at != b.set_at {
                a.set_at = 0;
            }
        }
        out.vec = self
            .vec
            .iter()
            .filter_map(|&(r, v)| {
                let m = v.meet(other.vector(usize::from(r)));
                (m.known != 0).then_some((r, m))
            })
            .collect();
        out.stack.0.retain(|(k, v)| other.stack.get(k) == Some(v));
        if out.flags != other.flags {
            out.flags = None;
        }
        out
    }

    /// A stack slot write: every overlapping slot is forgotten first.
    pub(crate) fn write_stack(&mut self, frame: u32, offset: i64, size: u8, val: Val) {
        let end = offset.saturating_add(i64::from(size));
        // Slots are at most 16 bytes, so only those starting in (offset - 16, end) can overlap.
        let slots = &mut self.stack.0;
        let lo = slots.partition_point(|(k, _)| *k < (frame, offset.saturating_sub(15)));
        let hi = slots.partition_point(|(k, _)| *k < (frame, end));
        let mut i = lo;
        let mut hi = hi;
        while i < hi {
            let ((_, o), (_, s)) = slots[i];
            if o.saturating_add(i64::from(s)) > offset {
                slots.remove(i);
                hi -= 1;
            } else {
                i += 1;
            }
        }
        if val != Val::Unknown && slots.len() < MAX_STACK_SLOTS {
            let at = slots.partition_point(|(k, _)| *k < (frame, offset));
            slots.insert(at, ((frame, offset), (val, size)));
        }
    }
}

/// Stack slots known on one path, sorted by (frame, offset): a short vector, cheap to copy at
/// every branch (a map would allocate per node).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct StackSlots(Vec<StackSlot>);

/// ((frame, offset), (value, size in bytes)).
type StackSlot = ((u32, i64), (Val, u8));

/// Beyond this many known slots, new ones are not kept (the state stays small to copy).
const MAX_STACK_SLOTS: usize = 64;

impl StackSlots {
    pub(crate) fn get(&self, key: &(u32, i64)) -> Option<&(Val, u8)> {
        self.0
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }
    /// The slots whose key lies in [lo, hi).
    fn range(&self, lo: (u32, i64), hi: (u32, i64)) -> &[StackSlot] {
        let a = self.0.partition_point(|(k, _)| *k < lo);
        let b = self.0.partition_point(|(k, _)| *k < hi);
        &self.0[a..b.max(a)]
    }
    pub fn clear(&mut self) {
        self.0.clear();
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a store writes: `size` bytes, those with their bit set in `known` known; `val`, the
/// register's abstract value (a stack slot keeps stack addresses and imports too).
pub(crate) struct Write {
    pub size: u8,
    pub bytes: u128,
    pub known: u16,
    pub val: Val,
}

fn all_bytes(size: u8) -> u16 {
    if size >= 16 {
        u16::MAX
    } else {
        (1u16 << size) - 1
    }
}

impl Write {
    /// A register's value, `size` (at most 8) bytes of it.
    pub fn of(size: u8, val: Val) -> Write {
        match val {
            Val::Const(c) => Write {
                size,
                bytes: u128::from(c),
                known: all_bytes(size),
                val,
            },
            _ => Write::unknown(size).with_val(val),
        }
    }
    pub fn vector(size: u8, v: Vector) -> Write {
        Write {
            size,
            bytes: v.bytes,
            known: v.known & all_bytes(size),
            val: Val::Unknown,
        }
    }
    pub fn unknown(size: u8) -> Write {
        Write {
            size,
            bytes: 0,
            known: 0,
            val: Val::Unknown,
        }
    }
    fn with_val(mut self, val: Val) -> Write {
        self.val = val;
        self
    }
}

/// A vector register's 16 bytes, those with their bit set in `known` known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Vector {
    pub bytes: u128,
    pub known: u16,
}

impl Vector {
    pub const ZERO: Vector = Vector {
        bytes: 0,
        known: u16::MAX,
    };
    /// The low `size` bytes are `value`, the rest zero (movq/movd into a vector register).
    pub fn low(value: u64, size: u8) -> Vector {
        let v = if size >= 8 {
            value
        } else {
            value & ((1u64 << (8 * u32::from(size))) - 1)
        };
        Vector {
            bytes: u128::from(v),
            known: u16::MAX,
        }
    }
    pub(crate) fn meet(self, other: Vector) -> Vector {
        let mut known = self.known & other.known;
        for i in 0..16 {
            if (self.bytes >> (8 * i)) as u8 != (other.bytes >> (8 * i)) as u8 {
                known &= !(1 << i);
            }
        }
        Vector {
            bytes: self.bytes,
            known,
        }
    }
}
