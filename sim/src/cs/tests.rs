//! Tests of the CS encoder, decoder, builder and interpreter.
//!
//! Known-value words are assembled by hand from genxml v10's field layout
//! (Mesa `src/panfrost/genxml/v10.xml`); a few are the expected words of
//! Mesa's own `src/panfrost/genxml/test/cs_builder.cpp` and of the panthor
//! kernel's ring-buffer job sequence (`panthor_sched.c`).

use proptest::prelude::*;

use super::*;

// ---------------------------------------------------------------------------
// Known-value vectors.

const fn w(opcode: u64, rest: u64) -> u64 {
    // Opcode in bits 56..63 for every instruction.
    opcode << 56 | rest
}

fn sync(addr: u8, data: u8, prop: bool, scope: SyncScope, wait: u16, slot: u8) -> SyncUpdate {
    SyncUpdate {
        addr,
        data,
        error_propagate: prop,
        scope,
        wait_mask: wait,
        signal_slot: slot,
    }
}

fn vectors() -> Vec<(Instr, u64)> {
    vec![
        // NOP: everything zero.
        (Instr::Nop, 0),
        // MOVE48: immediate 0..47, destination 48..55.
        (
            Instr::Move48 {
                dst: 2,
                imm: 0x1234_5678_9abc,
            },
            w(1, 2 << 48 | 0x1234_5678_9abc),
        ),
        // MOVE32: immediate 0..31, destination 48..55 (Mesa test "basic":
        // MOVE32 r42, #0xdeadbeef = 0x022a0000deadbeef).
        (
            Instr::Move32 {
                dst: 42,
                imm: 0xdead_beef,
            },
            0x022a_0000_dead_beef,
        ),
        // WAIT: wait mask 16..23, progress increment bit 32 (Mesa test:
        // WAIT #0x1 = 0x0300000000010000).
        (
            Instr::Wait {
                mask: 1,
                progress_inc: false,
            },
            0x0300_0000_0001_0000,
        ),
        (
            Instr::Wait {
                mask: 0xff,
                progress_inc: true,
            },
            w(3, 1 << 32 | 0xff << 16),
        ),
        // ADD_IMMEDIATE32: immediate 0..31 (signed), source 40..47,
        // destination 48..55 (Mesa test: ADD32 r1, r1, #0 = 0x1001010000000000).
        (
            Instr::AddImm32 {
                dst: 1,
                src: 1,
                imm: 0,
            },
            0x1001_0100_0000_0000,
        ),
        (
            Instr::AddImm32 {
                dst: 4,
                src: 3,
                imm: -1,
            },
            w(16, 4 << 48 | 3 << 40 | 0xffff_ffff),
        ),
        // ADD_IMMEDIATE64: same layout, opcode 17.
        (
            Instr::AddImm64 {
                dst: 2,
                src: 0,
                imm: 64,
            },
            w(17, 2 << 48 | 64),
        ),
        // LOAD_MULTIPLE: offset 0..15 (signed), mask 16..31, address 40..47,
        // base register 48..55 (Mesa test: LOAD_MULTIPLE r0, [d10], mask 1 =
        // 0x14000a0000010000).
        (
            Instr::LoadMultiple {
                base: 0,
                mask: 1,
                addr: 10,
                offset: 0,
            },
            0x1400_0a00_0001_0000,
        ),
        (
            Instr::LoadMultiple {
                base: 16,
                mask: 0xffff,
                addr: 0,
                offset: -64,
            },
            w(20, 16 << 48 | 0xffff << 16 | 0xffc0),
        ),
        // STORE_MULTIPLE: same layout, opcode 21.
        (
            Instr::StoreMultiple {
                base: 16,
                mask: 0xffff,
                addr: 2,
                offset: 4,
            },
            w(21, 16 << 48 | 2 << 40 | 0xffff << 16 | 4),
        ),
        // BRANCH: offset 0..15 (signed), condition 28..30, register 40..47
        // (Mesa tests: "BRANCH le, r42, #0x2" = 0x16002a0000000002,
        // "BRANCH al, r0, #-3" = 0x160000006000fffd,
        // "BRANCH ge, r1, #3" = 0x1600010050000003).
        (
            Instr::Branch {
                cond: Condition::Lequal,
                reg: 42,
                offset: 2,
            },
            0x1600_2a00_0000_0002,
        ),
        (
            Instr::Branch {
                cond: Condition::Always,
                reg: 0,
                offset: -3,
            },
            0x1600_0000_6000_fffd,
        ),
        (
            Instr::Branch {
                cond: Condition::Gequal,
                reg: 1,
                offset: 3,
            },
            0x1600_0100_5000_0003,
        ),
        // CALL / JUMP: length register 32..39, address register 40..47
        // (panthor: "(32ull << 56) | (addr_reg << 40) | (val_reg << 32)").
        (
            Instr::Call { addr: 92, len: 94 },
            w(32, 92 << 40 | 94 << 32),
        ),
        (
            Instr::Jump { addr: 94, len: 93 },
            w(33, 94 << 40 | 93 << 32),
        ),
        // FLUSH_CACHE2: L2 0..3, LSC 4..7, other 8..11, wait mask 16..31,
        // flush-ID register 40..47, signal slot 48..51 (panthor:
        // "(36ull << 56) | (val_reg << 40) | 0x233" = clean+invalidate L2 and
        // LSC, invalidate others).
        (
            Instr::FlushCache2 {
                l2: FlushMode::CleanInvalidate,
                lsc: FlushMode::CleanInvalidate,
                other: OtherFlushMode::Invalidate,
                flush_id: 94,
                wait_mask: 0,
                signal_slot: 0,
            },
            w(36, 94 << 40 | 0x233),
        ),
        (
            Instr::FlushCache2 {
                l2: FlushMode::Clean,
                lsc: FlushMode::None,
                other: OtherFlushMode::None,
                flush_id: 7,
                wait_mask: 0x8001,
                signal_slot: 3,
            },
            w(36, 3 << 48 | 7 << 40 | 0x8001 << 16 | 0x001),
        ),
        // SYNC_ADD/SET 32/64: error propagate bit 0, scope 1..2, wait mask
        // 16..31, data 32..39, address 40..47, signal slot 48..51 (panthor:
        // SYNC_ADD64.system_scope.propagate "(51ull << 56) | (addr_reg << 40)
        // | (val_reg << 32) | 1").
        (
            Instr::SyncAdd64(sync(92, 94, true, SyncScope::System, 0, 0)),
            w(51, 92 << 40 | 94 << 32 | 1),
        ),
        (
            Instr::SyncSet32(sync(6, 5, false, SyncScope::Csg, 0x3, 4)),
            w(38, 4 << 48 | 6 << 40 | 5 << 32 | 0x3 << 16 | 2 << 1),
        ),
        (
            Instr::SyncAdd32(sync(8, 9, true, SyncScope::Csg, 0, 0)),
            w(37, 8 << 40 | 9 << 32 | 2 << 1 | 1),
        ),
        (
            Instr::SyncSet64(sync(10, 12, false, SyncScope::System, 0xffff, 15)),
            w(52, 15 << 48 | 10 << 40 | 12 << 32 | 0xffff << 16),
        ),
        // SYNC_WAIT 32/64: error reject bit 0, condition 28..31, data 32..39,
        // address 40..47.
        (
            Instr::SyncWait32(SyncWait {
                cond: Condition::Lequal,
                addr: 8,
                data: 3,
                error_reject: false,
            }),
            w(39, 8 << 40 | 3 << 32),
        ),
        (
            Instr::SyncWait64(SyncWait {
                cond: Condition::Greater,
                addr: 6,
                data: 4,
                error_reject: true,
            }),
            w(53, 6 << 40 | 4 << 32 | 1 << 28 | 1),
        ),
        // ERROR_BARRIER: opcode only (panthor: "(47ull << 56)").
        (Instr::ErrorBarrier, w(47, 0)),
        // Opcodes outside the executed subset.
        (Instr::Unsupported { opcode: 5 }, w(5, 0)),
        (Instr::Unsupported { opcode: 41 }, w(41, 0)),
        // RUN_COMPUTE #64 along Y, srt1/spd2/tsd3/fau0 (genxml v10: task
        // increment 0..13, axis 14..15, selects at 40/42/44/46).
        (
            Instr::RunCompute {
                task_increment: 64,
                task_axis: TaskAxis::Y,
                progress_inc: false,
                select: ResourceSelect {
                    srt: 1,
                    fau: 0,
                    spd: 2,
                    tsd: 3,
                },
            },
            w(4, (3 << 44) | (2 << 42) | (1 << 40) | (1 << 14) | 64),
        ),
        // STORE_STATE.timestamp [d4, #-8], wait #0x3, signal #2 (genxml v10:
        // offset 0..15, wait mask 16..31, state 32..33, address 40..47,
        // signal slot 48..51).
        (
            Instr::StoreState {
                state: StateKind::Timestamp,
                addr: 4,
                offset: -8,
                wait_mask: 3,
                signal_slot: 2,
            },
            w(40, 2 << 48 | 4 << 40 | 3 << 16 | 0xfff8),
        ),
        (
            Instr::StoreState {
                state: StateKind::CycleCount,
                addr: 2,
                offset: 16,
                wait_mask: 0,
                signal_slot: 0,
            },
            w(40, 2 << 40 | 1 << 32 | 16),
        ),
    ]
}

#[test]
fn known_vectors_encode() {
    for (instr, word) in vectors() {
        assert_eq!(encode(&instr), word, "{instr:?}: {instr}");
    }
}

#[test]
fn known_vectors_decode() {
    for (instr, word) in vectors() {
        assert_eq!(decode(word), instr, "{word:#018x}");
    }
}

#[test]
fn reserved_and_undefined_values_decode_invalid() {
    // Reserved opcodes.
    for o in [
        10u64, 12, 13, 14, 15, 19, 26, 31, 35, 45, 46, 54, 0x80, 0xff,
    ] {
        assert_eq!(decode(o << 56), Instr::Invalid, "opcode {o}");
    }
    // BRANCH condition 7 (3-bit field, values 0..6 defined).
    assert_eq!(decode(w(22, 7 << 28)), Instr::Invalid);
    // SYNC_WAIT condition 7..15 (4-bit field).
    for c in 7..16u64 {
        assert_eq!(decode(w(39, c << 28)), Instr::Invalid);
        assert_eq!(decode(w(53, c << 28)), Instr::Invalid);
    }
    // SYNC_* scope 1 and 3 (System = 0, CSG = 2).
    for s in [1u64, 3] {
        for o in [37u64, 38, 51, 52] {
            assert_eq!(decode(w(o, s << 1)), Instr::Invalid);
        }
    }
    // FLUSH_CACHE2 flush mode 2 (None 0, Clean 1, Clean+invalidate 3) and
    // other-flush mode 1 (None 0, Invalidate 2).
    assert_eq!(decode(w(36, 0x002)), Instr::Invalid);
    assert_eq!(decode(w(36, 0x020)), Instr::Invalid);
    assert_eq!(decode(w(36, 0x100)), Instr::Invalid);
    assert_eq!(decode(encode(&Instr::Invalid)), Instr::Invalid);
}

#[test]
fn every_genxml_opcode_is_known() {
    for o in opcode::UNSUPPORTED {
        assert_eq!(decode((o as u64) << 56), Instr::Unsupported { opcode: o });
    }
}

#[test]
fn undefined_bits_are_ignored() {
    // NOP ignores bits 0..55; MOVE32 ignores bits 32..47.
    assert_eq!(decode(0x00ff_ffff_ffff_ffff), Instr::Nop);
    assert_eq!(
        decode(0x022a_ffff_dead_beef),
        Instr::Move32 {
            dst: 42,
            imm: 0xdead_beef
        }
    );
}

#[test]
fn display_disassembles() {
    assert_eq!(
        decode(0x1600_0000_6000_fffd).to_string(),
        "BRANCH.al r0, #-3"
    );
    assert_eq!(
        Instr::LoadMultiple {
            base: 4,
            mask: 0b101,
            addr: 2,
            offset: -8
        }
        .to_string(),
        "LOAD_MULTIPLE r4:r6, [d2 + -8]"
    );
}

// ---------------------------------------------------------------------------
// Round trips.

fn reg() -> impl Strategy<Value = u8> {
    any::<u8>()
}

fn cond() -> impl Strategy<Value = Condition> {
    (0usize..7).prop_map(|i| Condition::ALL[i])
}

fn scope() -> impl Strategy<Value = SyncScope> {
    prop_oneof![Just(SyncScope::System), Just(SyncScope::Csg)]
}

fn flush() -> impl Strategy<Value = FlushMode> {
    prop_oneof![
        Just(FlushMode::None),
        Just(FlushMode::Clean),
        Just(FlushMode::CleanInvalidate)
    ]
}

fn sync_update() -> impl Strategy<Value = SyncUpdate> {
    (reg(), reg(), any::<bool>(), scope(), any::<u16>(), 0u8..16).prop_map(
        |(addr, data, error_propagate, scope, wait_mask, signal_slot)| SyncUpdate {
            addr,
            data,
            error_propagate,
            scope,
            wait_mask,
            signal_slot,
        },
    )
}

fn sync_wait() -> impl Strategy<Value = SyncWait> {
    (cond(), reg(), reg(), any::<bool>()).prop_map(|(cond, addr, data, error_reject)| SyncWait {
        cond,
        addr,
        data,
        error_reject,
    })
}

fn select() -> impl Strategy<Value = ResourceSelect> {
    (0u8..4, 0u8..4, 0u8..4, 0u8..4).prop_map(|(srt, fau, spd, tsd)| ResourceSelect {
        srt,
        fau,
        spd,
        tsd,
    })
}

fn valid_instr() -> impl Strategy<Value = Instr> {
    prop_oneof![
        Just(Instr::Nop),
        Just(Instr::ErrorBarrier),
        (reg(), 0u64..1 << 48).prop_map(|(dst, imm)| Instr::Move48 { dst, imm }),
        (reg(), any::<u32>()).prop_map(|(dst, imm)| Instr::Move32 { dst, imm }),
        (any::<u8>(), any::<bool>())
            .prop_map(|(mask, progress_inc)| Instr::Wait { mask, progress_inc }),
        (reg(), reg(), any::<i32>()).prop_map(|(dst, src, imm)| Instr::AddImm32 { dst, src, imm }),
        (reg(), reg(), any::<i32>()).prop_map(|(dst, src, imm)| Instr::AddImm64 { dst, src, imm }),
        (reg(), any::<u16>(), reg(), any::<i16>()).prop_map(|(base, mask, addr, offset)| {
            Instr::LoadMultiple {
                base,
                mask,
                addr,
                offset,
            }
        }),
        (reg(), any::<u16>(), reg(), any::<i16>()).prop_map(|(base, mask, addr, offset)| {
            Instr::StoreMultiple {
                base,
                mask,
                addr,
                offset,
            }
        }),
        (cond(), reg(), any::<i16>()).prop_map(|(cond, reg, offset)| Instr::Branch {
            cond,
            reg,
            offset
        }),
        (reg(), reg()).prop_map(|(addr, len)| Instr::Call { addr, len }),
        (reg(), reg()).prop_map(|(addr, len)| Instr::Jump { addr, len }),
        (
            flush(),
            flush(),
            any::<bool>(),
            reg(),
            any::<u16>(),
            0u8..16
        )
            .prop_map(|(l2, lsc, inv, flush_id, wait_mask, signal_slot)| {
                Instr::FlushCache2 {
                    l2,
                    lsc,
                    other: if inv {
                        OtherFlushMode::Invalidate
                    } else {
                        OtherFlushMode::None
                    },
                    flush_id,
                    wait_mask,
                    signal_slot,
                }
            }),
        sync_update().prop_map(Instr::SyncAdd32),
        sync_update().prop_map(Instr::SyncSet32),
        sync_update().prop_map(Instr::SyncAdd64),
        sync_update().prop_map(Instr::SyncSet64),
        sync_wait().prop_map(Instr::SyncWait32),
        sync_wait().prop_map(Instr::SyncWait64),
        (0usize..4, reg(), any::<i16>(), any::<u16>(), 0u8..16).prop_map(
            |(state, addr, offset, wait_mask, signal_slot)| Instr::StoreState {
                state: StateKind::ALL[state],
                addr,
                offset,
                wait_mask,
                signal_slot,
            }
        ),
        (0u16..1 << 14, 0usize..3, any::<bool>(), select()).prop_map(
            |(task_increment, axis, progress_inc, select)| Instr::RunCompute {
                task_increment,
                task_axis: TaskAxis::ALL[axis],
                progress_inc,
                select,
            }
        ),
        (any::<u16>(), any::<bool>(), select()).prop_map(
            |(workgroups_per_task, progress_inc, select)| Instr::RunComputeIndirect {
                workgroups_per_task,
                progress_inc,
                select,
            }
        ),
        (0usize..opcode::UNSUPPORTED.len()).prop_map(|i| Instr::Unsupported {
            opcode: opcode::UNSUPPORTED[i]
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn roundtrip_valid_instructions(i in valid_instr()) {
        let word = encode(&i);
        prop_assert_eq!(decode(word), i);
        // The encoding sets no bit outside the instruction's fields.
        prop_assert_eq!(word & !defined_bits(&i), 0);
    }

    #[test]
    fn arbitrary_words_decode(word in any::<u64>()) {
        let i = decode(word);
        if i != Instr::Invalid {
            prop_assert_eq!(encode(&i), word & defined_bits(&i));
            prop_assert_eq!(decode(encode(&i)), i);
        }
    }

    #[test]
    fn arbitrary_words_per_opcode_decode(op in 0u64..64, rest in 0u64..1 << 56) {
        // Concentrates on defined opcodes (uniform u64s rarely hit them).
        let word = op << 56 | rest;
        let i = decode(word);
        if i != Instr::Invalid {
            prop_assert_eq!(encode(&i), word & defined_bits(&i));
        }
    }

    #[test]
    fn arbitrary_words_execute_without_panic(words in proptest::collection::vec(any::<u64>(), 1..24),
                                             regs in proptest::collection::vec(any::<u32>(), NUM_REGS)) {
        let mut mem = VecMem::new(0, 0x2_0000);
        put_words(&mut mem, 0x1000, &words);
        let mut cs = CsState::new();
        cs.regs.copy_from_slice(&regs);
        cs.start(0x1000, (words.len() * 8) as u32);
        let _ = cs.run(&mut mem, 256);
    }
}

// ---------------------------------------------------------------------------
// Test memory.

/// GPU memory backed by a `Vec`, with unmapped holes that fault.
struct VecMem {
    base: u64,
    bytes: Vec<u8>,
    holes: Vec<(u64, u64)>,
    /// The counters STORE_STATE samples: each read advances them.
    clock: u64,
}

impl VecMem {
    fn new(base: u64, size: usize) -> VecMem {
        VecMem {
            base,
            bytes: vec![0; size],
            holes: Vec::new(),
            clock: 1000,
        }
    }

    fn unmap(&mut self, va: u64, len: u64) {
        self.holes.push((va, va + len));
    }

    fn at(&self, va: u64, len: u64, write: bool) -> Result<usize, MemFault> {
        let fault = MemFault { va, write };
        let Some(end) = va.checked_add(len) else {
            return Err(fault);
        };
        if va < self.base || end > self.base + self.bytes.len() as u64 {
            return Err(fault);
        }
        if self.holes.iter().any(|&(s, e)| va < e && end > s) {
            return Err(fault);
        }
        Ok((va - self.base) as usize)
    }

    fn get32(&self, va: u64) -> u32 {
        let i = (va - self.base) as usize;
        u32::from_le_bytes(self.bytes[i..i + 4].try_into().unwrap())
    }

    fn get64(&self, va: u64) -> u64 {
        let i = (va - self.base) as usize;
        u64::from_le_bytes(self.bytes[i..i + 8].try_into().unwrap())
    }

    fn put64(&mut self, va: u64, v: u64) {
        let i = (va - self.base) as usize;
        self.bytes[i..i + 8].copy_from_slice(&v.to_le_bytes());
    }

    fn put32(&mut self, va: u64, v: u32) {
        let i = (va - self.base) as usize;
        self.bytes[i..i + 4].copy_from_slice(&v.to_le_bytes());
    }
}

impl CsMemory for VecMem {
    fn timestamp(&mut self) -> u64 {
        self.clock += 7;
        self.clock
    }
    fn cycle_count(&mut self) -> u64 {
        self.clock += 7;
        self.clock * 40
    }
    fn read_u32(&mut self, va: u64) -> Result<u32, MemFault> {
        let i = self.at(va, 4, false)?;
        Ok(u32::from_le_bytes(self.bytes[i..i + 4].try_into().unwrap()))
    }
    fn write_u32(&mut self, va: u64, v: u32) -> Result<(), MemFault> {
        let i = self.at(va, 4, true)?;
        self.bytes[i..i + 4].copy_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn read_u64(&mut self, va: u64) -> Result<u64, MemFault> {
        assert_eq!(va % 8, 0, "read_u64 contract");
        let i = self.at(va, 8, false)?;
        Ok(u64::from_le_bytes(self.bytes[i..i + 8].try_into().unwrap()))
    }
    fn write_u64(&mut self, va: u64, v: u64) -> Result<(), MemFault> {
        assert_eq!(va % 8, 0, "write_u64 contract");
        let i = self.at(va, 8, true)?;
        self.bytes[i..i + 8].copy_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn read_u32s(&mut self, va: u64, out: &mut [u32]) -> Result<(), MemFault> {
        let Ok(i) = self.at(va, 4 * out.len() as u64, false) else {
            // Slow path finds the first failing word.
            for (k, o) in out.iter_mut().enumerate() {
                *o = self.read_u32(va + 4 * k as u64)?;
            }
            return Ok(());
        };
        for (o, c) in out.iter_mut().zip(self.bytes[i..].chunks_exact(4)) {
            *o = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Ok(())
    }
    fn write_u32s(&mut self, va: u64, data: &[u32]) -> Result<(), MemFault> {
        let Ok(i) = self.at(va, 4 * data.len() as u64, true) else {
            for (k, &v) in data.iter().enumerate() {
                self.write_u32(va + 4 * k as u64, v)?;
            }
            return Ok(());
        };
        for (&v, c) in data.iter().zip(self.bytes[i..].chunks_exact_mut(4)) {
            c.copy_from_slice(&v.to_le_bytes());
        }
        Ok(())
    }
}

fn put_words(mem: &mut VecMem, va: u64, words: &[u64]) {
    for (i, &w) in words.iter().enumerate() {
        mem.put64(va + 8 * i as u64, w);
    }
}

fn build(f: impl FnOnce(&mut CsBuilder)) -> Vec<u64> {
    let mut b = CsBuilder::new();
    f(&mut b);
    b.finish().expect("valid stream")
}

/// Loads `words` at `va` and starts a stream on them.
fn start_at(mem: &mut VecMem, va: u64, words: &[u64]) -> CsState {
    put_words(mem, va, words);
    let mut cs = CsState::new();
    cs.start(va, (words.len() * 8) as u32);
    cs
}

// ---------------------------------------------------------------------------
// Interpreter: copy loop.

const CODE: u64 = 0x1_0000;
const SRC: u64 = 0x10_0000;
const DST: u64 = 0x20_0000;
const MIB: u32 = 1 << 20;

/// The transfer loop the ICD lowers buffer copies to: 64 bytes an
/// iteration through r16..r31, d0 = source, d2 = destination, r4 = count.
fn copy_program(src: u64, dst: u64, bytes: u32) -> Vec<u64> {
    build(|b| {
        b.copy(src, dst, bytes);
    })
}

fn copy_setup() -> (VecMem, Vec<u64>) {
    let mut mem = VecMem::new(0, (DST + MIB as u64) as usize);
    for i in 0..MIB as u64 {
        let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
        mem.bytes[(SRC + i) as usize] = x as u8;
    }
    (mem, copy_program(SRC, DST, MIB))
}

#[test]
fn copy_loop_1mib() {
    let (mut mem, prog) = copy_setup();
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert_eq!(cs.run(&mut mem, u64::MAX), Outcome::Done);
    let (s, d) = (SRC as usize, DST as usize);
    let n = MIB as usize;
    assert!(mem.bytes[s..s + n] == mem.bytes[d..d + n]);
    assert_eq!(cs.regs[4], 0);
    assert_eq!(cs.reg64(0), SRC + MIB as u64);
    assert_eq!(cs.reg64(2), DST + MIB as u64);
    assert_eq!(cs.retired(), 3 + 7 * (MIB as u64 / 64));
    // Done is sticky.
    assert_eq!(cs.run(&mut mem, 10), Outcome::Done);
    assert!(cs.is_done());
}

/// STORE_STATE writes each counter's 64-bit value at `d(addr) + offset`,
/// in program order, and faults on a misaligned or unmapped target.
#[test]
fn store_state_samples_counters() {
    let mut mem = VecMem::new(0, 0x40_0000);
    let prog = build(|b| {
        b.mov48(2, DST + 16);
        b.store_state(StateKind::Timestamp, 2, -16, Async::NOW);
        b.store_state(StateKind::Timestamp, 2, -8, Async::NOW);
        b.store_state(StateKind::CycleCount, 2, 0, Async::NOW);
        b.store_state(StateKind::DisjointCount, 2, 8, Async::NOW);
    });
    for i in 0..4 {
        mem.put64(DST + 8 * i, u64::MAX);
    }
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert_eq!(cs.run(&mut mem, u64::MAX), Outcome::Done);
    let (t0, t1) = (mem.get64(DST), mem.get64(DST + 8));
    assert_eq!((t0, t1), (1007, 1014), "two samples, in order");
    assert_eq!(mem.get64(DST + 16), 1021 * 40);
    assert_eq!(mem.get64(DST + 24), 0, "no disjoint events");

    let misaligned = build(|b| {
        b.mov48(2, DST + 4);
        b.store_state(StateKind::Timestamp, 2, 0, Async::NOW);
    });
    let mut cs = start_at(&mut mem, CODE, &misaligned);
    assert_eq!(
        cs.run(&mut mem, u64::MAX),
        Outcome::Fault(CsFault::MisalignedAccess {
            va: CODE + 8,
            addr: DST + 4
        })
    );

    mem.unmap(DST, 4096);
    let unmapped = build(|b| {
        b.mov48(2, DST);
        b.store_state(StateKind::Timestamp, 2, 0, Async::NOW);
    });
    let mut cs = start_at(&mut mem, CODE, &unmapped);
    assert_eq!(
        cs.run(&mut mem, u64::MAX),
        Outcome::Fault(CsFault::Memory(MemFault {
            va: DST,
            write: true
        }))
    );
}

#[test]
fn budget_exhaustion_resumes() {
    let (mut mem, prog) = copy_setup();
    let mut cs = start_at(&mut mem, CODE, &prog);
    let mut runs = 0;
    loop {
        runs += 1;
        match cs.run(&mut mem, 1000) {
            Outcome::BudgetExhausted => continue,
            Outcome::Done => break,
            o => panic!("{o:?}"),
        }
    }
    let total = 3 + 7 * (MIB as u64 / 64);
    assert_eq!(cs.retired(), total);
    assert_eq!(runs, total.div_ceil(1000));
    let (s, d, n) = (SRC as usize, DST as usize, MIB as usize);
    assert!(mem.bytes[s..s + n] == mem.bytes[d..d + n]);
    // A zero budget on an unfinished stream runs nothing.
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert_eq!(cs.run(&mut mem, 0), Outcome::BudgetExhausted);
    assert_eq!(cs.pc(), CODE);
}

#[test]
fn memory_fault_mid_copy() {
    let (mut mem, prog) = copy_setup();
    // Unmap one 4 KiB page of the destination, 300 KiB in.
    let hole = DST + 300 * 1024;
    mem.unmap(hole, 4096);
    let mut cs = start_at(&mut mem, CODE, &prog);
    let out = cs.run(&mut mem, u64::MAX);
    assert_eq!(
        out,
        Outcome::Fault(CsFault::Memory(MemFault {
            va: hole,
            write: true
        }))
    );
    // Stopped on the STORE_MULTIPLE (instruction 5 of the program).
    assert_eq!(cs.pc(), CODE + 5 * 8);
    assert_eq!(cs.reg64(2), hole);
    // Everything before the hole was copied, nothing after it.
    let done = (hole - DST) as usize;
    let (s, d) = (SRC as usize, DST as usize);
    assert!(mem.bytes[s..s + done] == mem.bytes[d..d + done]);
    assert!(mem.bytes[d + done + 4096..d + MIB as usize]
        .iter()
        .all(|&b| b == 0));
    // The fault is sticky until the next start.
    assert_eq!(cs.run(&mut mem, 10), out);
    assert_eq!(
        cs.fault(),
        Some(CsFault::Memory(MemFault {
            va: hole,
            write: true
        }))
    );
}

#[test]
fn source_fault_reports_read() {
    let (mut mem, prog) = copy_setup();
    mem.unmap(SRC + 64 * 10 + 32, 4);
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert_eq!(
        cs.run(&mut mem, u64::MAX),
        Outcome::Fault(CsFault::Memory(MemFault {
            va: SRC + 64 * 10 + 32,
            write: false
        }))
    );
    // The load did not touch the registers: they hold iteration 9's data.
    assert_eq!(cs.pc(), CODE + 3 * 8);
    assert_eq!(cs.regs[16], mem.get32(SRC + 64 * 9));
}

#[test]
fn instruction_fetch_fault() {
    let mut mem = VecMem::new(0, 0x2_0000);
    mem.unmap(0x2000, 0x1000);
    let mut cs = CsState::new();
    cs.start(0x2000, 64);
    assert_eq!(
        cs.run(&mut mem, 10),
        Outcome::Fault(CsFault::Memory(MemFault {
            va: 0x2000,
            write: false
        }))
    );
}

// ---------------------------------------------------------------------------
// Interpreter: sync objects.

const SYNC: u64 = 0x3000;

#[test]
fn sync_add_set_then_wait_satisfied() {
    let mut mem = VecMem::new(0, 0x2_0000);
    let prog = build(|b| {
        b.mov48(10, SYNC)
            .mov48(12, 5)
            .sync_set64(10, 12, SyncScope::System, false, Async::NOW)
            .mov48(12, 3)
            .sync_add64(10, 12, SyncScope::Csg, true, Async::defer(0x1, 2))
            // 8 > 7: proceeds.
            .mov48(14, 7)
            .sync_wait64(Condition::Greater, 10, 14, false)
            // 32-bit object right after the 64-bit one's status word.
            .mov48(16, SYNC + 16)
            .mov32(18, 40)
            .sync_set32(16, 18, SyncScope::System, false, Async::NOW)
            .mov32(18, 2)
            .sync_add32(16, 18, SyncScope::System, false, Async::NOW)
            .mov32(19, 42)
            .sync_wait32(Condition::Lequal, 16, 19, true)
            .mov32(20, 1);
    });
    mem.put32(SYNC + 8, 0xdead);
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Done);
    assert_eq!(mem.get64(SYNC), 8);
    // error_propagate wrote the (NO_FAULT) status word at +8.
    assert_eq!(mem.get32(SYNC + 8), 0);
    assert_eq!(mem.get32(SYNC + 16), 42);
    assert_eq!(cs.regs[20], 1);
    assert_eq!(cs.sync_updates(), 4);
    assert_eq!(cs.sync_wait(), None);
}

#[test]
fn sync_wait_blocked_then_resumed() {
    let mut mem = VecMem::new(0, 0x2_0000);
    let prog = build(|b| {
        b.mov48(10, SYNC)
            .mov48(12, 4)
            .sync_wait64(Condition::Greater, 10, 12, false)
            .mov32(20, 0x600d)
            .mov48(10, SYNC + 8)
            .mov32(13, 0)
            .sync_wait32(Condition::Lequal, 10, 13, false)
            .mov32(21, 0x600d);
    });
    mem.put64(SYNC, 4);
    mem.put32(SYNC + 8, 1);
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Blocked);
    let wait_va = CODE + 2 * 8;
    assert_eq!(cs.pc(), wait_va);
    assert_eq!(
        cs.sync_wait(),
        Some(SyncWaitStatus {
            instr_va: wait_va,
            addr: SYNC,
            reference: 4,
            cond: Condition::Greater,
            wide: true
        })
    );
    // Still blocked while the value does not move.
    assert_eq!(cs.run(&mut mem, 100), Outcome::Blocked);
    assert_eq!(cs.regs[20], 0);
    // Another queue signals: 5 > 4.
    mem.put64(SYNC, 5);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Blocked);
    assert_eq!(cs.regs[20], 0x600d);
    assert_eq!(cs.pc(), CODE + 6 * 8);
    assert!(!cs.sync_wait().unwrap().wide);
    // 32-bit LEQUAL: 1 <= 0 fails, 0 <= 0 holds.
    mem.put32(SYNC + 8, 0);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Done);
    assert_eq!(cs.regs[21], 0x600d);
    assert_eq!(cs.sync_wait(), None);
}

#[test]
fn sync_compare_is_unsigned() {
    let mut mem = VecMem::new(0, 0x2_0000);
    let prog = build(|b| {
        b.mov48(10, SYNC)
            .mov64(12, 1)
            .sync_wait64(Condition::Greater, 10, 12, false);
    });
    mem.put64(SYNC, u64::MAX);
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Done);
}

#[test]
fn misaligned_sync_object_faults() {
    let mut mem = VecMem::new(0, 0x2_0000);
    let prog = build(|b| {
        b.mov48(10, SYNC + 4)
            .mov48(12, 1)
            .sync_add64(10, 12, SyncScope::System, false, Async::NOW);
    });
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert_eq!(
        cs.run(&mut mem, 100),
        Outcome::Fault(CsFault::MisalignedSync {
            va: CODE + 16,
            addr: SYNC + 4
        })
    );
}

// ---------------------------------------------------------------------------
// Interpreter: control flow.

#[test]
fn branch_conditions_are_signed_against_zero() {
    for cond in Condition::ALL {
        for v in [i32::MIN, -1, 0, 1, i32::MAX] {
            let mut mem = VecMem::new(0, 0x2_0000);
            // r2 = 1 unless the branch skips the MOVE32.
            let prog = build(|b| {
                b.mov32(1, v as u32).branch(cond, 1, 1).mov32(2, 1).nop();
            });
            let mut cs = start_at(&mut mem, CODE, &prog);
            assert_eq!(cs.run(&mut mem, 100), Outcome::Done);
            let expect = match cond {
                Condition::Lequal => v <= 0,
                Condition::Greater => v > 0,
                Condition::Equal => v == 0,
                Condition::Nequal => v != 0,
                Condition::Less => v < 0,
                Condition::Gequal => v >= 0,
                Condition::Always => true,
            };
            assert_eq!(cs.regs[2] == 0, expect, "{cond:?} {v}");
        }
    }
}

#[test]
fn branch_to_buffer_end_finishes_and_beyond_faults() {
    let mut mem = VecMem::new(0, 0x2_0000);
    let prog = build(|b| {
        b.branch(Condition::Always, 0, 1).mov32(1, 1);
    });
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Done);
    assert_eq!(cs.regs[1], 0);

    let prog = build(|b| {
        b.branch(Condition::Always, 0, 2).mov32(1, 1);
    });
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert_eq!(
        cs.run(&mut mem, 100),
        Outcome::Fault(CsFault::BranchOutOfRange {
            va: CODE,
            target: CODE + 24
        })
    );
    let prog = build(|b| {
        b.branch(Condition::Always, 0, -2);
    });
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert!(matches!(
        cs.run(&mut mem, 100),
        Outcome::Fault(CsFault::BranchOutOfRange { .. })
    ));
}

const SUB: u64 = 0x2000;

#[test]
fn call_and_return() {
    let mut mem = VecMem::new(0, 0x2_0000);
    // Callee: r5 += 10, then a nested call of SUB2, then r5 += 100.
    let sub2 = build(|b| {
        b.add32(5, 5, 1000);
    });
    let sub = build(|b| {
        b.add32(5, 5, 10)
            .mov48(30, SUB + 0x800)
            .mov32(32, 8)
            .call(30, 32)
            .add32(5, 5, 100);
    });
    put_words(&mut mem, SUB, &sub);
    put_words(&mut mem, SUB + 0x800, &sub2);
    // Caller: CALL twice (the second as its last instruction: returning lands
    // on the caller's end, which finishes the stream).
    let main = build(|b| {
        b.mov48(20, SUB)
            .mov32(22, (sub.len() * 8) as u32)
            .call(20, 22)
            .add32(5, 5, 1)
            .call(20, 22);
    });
    let mut cs = start_at(&mut mem, CODE, &main);
    // Stop inside the nested call to see the stack.
    assert_eq!(cs.run(&mut mem, 7), Outcome::BudgetExhausted);
    assert_eq!(cs.call_depth(), 2);
    assert_eq!(cs.pc(), SUB + 0x800);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Done);
    assert_eq!(cs.regs[5], 2 * (10 + 1000 + 100) + 1);
    assert_eq!(cs.call_depth(), 0);
}

#[test]
fn zero_length_call_returns_at_once() {
    let mut mem = VecMem::new(0, 0x2_0000);
    let main = build(|b| {
        b.mov48(20, SUB).mov32(22, 0).call(20, 22).mov32(1, 7);
    });
    let mut cs = start_at(&mut mem, CODE, &main);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Done);
    assert_eq!(cs.regs[1], 7);
}

#[test]
fn call_stack_depth_limit() {
    // A buffer that counts r1 down and calls itself while r1 > 0.
    fn recursive(mem: &mut VecMem, depth: u32) -> (CsState, Outcome) {
        let sub = build(|b| {
            b.add32(1, 1, -1)
                .add32(2, 2, 1)
                .branch(Condition::Lequal, 1, 1)
                .call(20, 22)
                .nop();
        });
        put_words(mem, SUB, &sub);
        let main = build(|b| {
            b.mov48(20, SUB)
                .mov32(22, (sub.len() * 8) as u32)
                .mov32(1, depth)
                .call(20, 22);
        });
        let mut cs = start_at(mem, CODE, &main);
        let out = cs.run(mem, 10_000);
        (cs, out)
    }
    let mut mem = VecMem::new(0, 0x2_0000);
    // Seven nested frames are fine.
    let (cs, out) = recursive(&mut mem, MAX_CALL_DEPTH as u32);
    assert_eq!(out, Outcome::Done);
    assert_eq!(cs.regs[2], MAX_CALL_DEPTH as u32);
    // The eighth CALL overflows: the fault names the CALL in the callee.
    let (cs, out) = recursive(&mut mem, MAX_CALL_DEPTH as u32 + 1);
    assert_eq!(out, Outcome::Fault(CsFault::CallStackOverflow));
    assert_eq!(cs.call_depth(), MAX_CALL_DEPTH);
    assert_eq!(cs.pc(), SUB + 3 * 8);
}

#[test]
fn jump_links_chunks_like_cs_builder() {
    // Mesa's chunk linking: MOVE48 addr, MOVE32 length, JUMP, at the end of a
    // chunk (in user streams that the kernel's ring CALLs).
    let mut mem = VecMem::new(0, 0x2_0000);
    let chunk2 = build(|b| {
        b.mov32(3, 2);
    });
    put_words(&mut mem, SUB, &chunk2);
    let chunk1 = build(|b| {
        b.mov32(3, 1)
            .mov48(94, SUB)
            .mov32(93, 8)
            .jump(94, 93)
            .mov32(4, 0xbad);
    });
    let ring = build(|b| {
        b.mov48(20, CODE + 0x400)
            .mov32(22, (chunk1.len() * 8) as u32)
            .call(20, 22)
            .mov32(5, 9);
    });
    put_words(&mut mem, CODE + 0x400, &chunk1);
    let mut cs = start_at(&mut mem, CODE, &ring);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Done);
    assert_eq!((cs.regs[3], cs.regs[4], cs.regs[5]), (2, 0, 9));
}

#[test]
fn misaligned_call_faults() {
    let mut mem = VecMem::new(0, 0x2_0000);
    let main = build(|b| {
        b.mov48(20, SUB + 4).mov32(22, 8).call(20, 22);
    });
    let mut cs = start_at(&mut mem, CODE, &main);
    assert_eq!(
        cs.run(&mut mem, 100),
        Outcome::Fault(CsFault::BadBuffer {
            va: CODE + 16,
            addr: SUB + 4,
            len: 8
        })
    );
    let main = build(|b| {
        b.mov48(20, SUB).mov32(22, 12).jump(20, 22);
    });
    let mut cs = start_at(&mut mem, CODE, &main);
    assert!(matches!(
        cs.run(&mut mem, 100),
        Outcome::Fault(CsFault::BadBuffer { len: 12, .. })
    ));
    let mut cs = CsState::new();
    cs.start(CODE + 4, 8);
    assert!(matches!(
        cs.run(&mut mem, 100),
        Outcome::Fault(CsFault::BadBuffer { .. })
    ));
}

// ---------------------------------------------------------------------------
// Interpreter: faults and registers.

#[test]
fn invalid_instruction_reports_va() {
    let mut mem = VecMem::new(0, 0x2_0000);
    let bad = 0x0a00_0000_0000_1234; // opcode 10 is reserved
    let mut cs = start_at(&mut mem, CODE, &[0, 0, bad, 0]);
    assert_eq!(
        cs.run(&mut mem, 100),
        Outcome::Fault(CsFault::InvalidInstruction {
            va: CODE + 16,
            word: bad
        })
    );
    assert_eq!(cs.pc(), CODE + 16);
    // start() clears the fault.
    cs.start(CODE, 16);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Done);
}

#[test]
fn unsupported_opcode_faults() {
    let mut mem = VecMem::new(0, 0x2_0000);
    let mut cs = start_at(&mut mem, CODE, &[0, w(5, 0)]);
    assert_eq!(
        cs.run(&mut mem, 100),
        Outcome::Fault(CsFault::Unsupported {
            va: CODE + 8,
            opcode: 5
        })
    );
}

/// A memory without shader cores refuses compute jobs; one with them is
/// handed the job the staging registers describe.
#[test]
fn run_compute_hands_the_staging_registers_to_the_shader_cores() {
    let mut mem = VecMem::new(0, 0x2_0000);
    let run = w(4, 7);
    let mut cs = start_at(&mut mem, CODE, &[run]);
    assert_eq!(
        cs.run(&mut mem, 100),
        Outcome::Fault(CsFault::Compute {
            va: CODE,
            fault: ComputeFault::NoShaderCores
        })
    );

    struct Cores(VecMem, Vec<ComputeJob>);
    impl CsMemory for Cores {
        fn read_u32(&mut self, va: u64) -> Result<u32, MemFault> {
            self.0.read_u32(va)
        }
        fn write_u32(&mut self, va: u64, v: u32) -> Result<(), MemFault> {
            self.0.write_u32(va, v)
        }
        fn read_u64(&mut self, va: u64) -> Result<u64, MemFault> {
            self.0.read_u64(va)
        }
        fn write_u64(&mut self, va: u64, v: u64) -> Result<(), MemFault> {
            self.0.write_u64(va, v)
        }
        fn timestamp(&mut self) -> u64 {
            0
        }
        fn cycle_count(&mut self) -> u64 {
            0
        }
        fn run_compute(&mut self, job: &ComputeJob) -> Result<(), ComputeError> {
            self.1.push(*job);
            Ok(())
        }
    }
    let mut cores = Cores(mem, Vec::new());
    let select = |srt, fau, spd, tsd| ResourceSelect { srt, fau, spd, tsd };
    let mut b = CsBuilder::new();
    b.mov48(2, 0x1000_0045) // SRT_1
        .mov48(8, 0x2000) // FAU_0: address, then 3 words in bits 56..63
        .mov32(9, 0x0300_0000)
        .mov48(20, 0x3000) // SPD_2
        .mov48(30, 0x4000) // TSD_3
        .mov32(32, 0)
        .mov32(33, 0x1C07)
        .mov32(34, 1)
        .mov32(35, 2)
        .mov32(36, 3)
        .mov32(37, 10)
        .mov32(38, 20)
        .mov32(39, 30)
        .run_compute(5, TaskAxis::Z, select(1, 0, 2, 3));
    let words = b.finish().unwrap();
    let mut cs = start_at(&mut cores.0, CODE, &words);
    assert_eq!(cs.run(&mut cores, 100), Outcome::Done);
    assert_eq!(
        cores.1,
        vec![ComputeJob {
            srt: 0x1000_0045,
            fau: 0x0300_0000_0000_2000,
            spd: 0x3000,
            tsd: 0x4000,
            global_attribute_offset: 0,
            wg_size: 0x1C07,
            job_offset: [1, 2, 3],
            job_size: [10, 20, 30],
        }]
    );
}

#[test]
fn bad_registers_fault() {
    let mut mem = VecMem::new(0, 0x2_0000);
    // MOVE48 on an odd register pair.
    let mut cs = start_at(&mut mem, CODE, &[encode(&Instr::Move48 { dst: 3, imm: 1 })]);
    assert_eq!(
        cs.run(&mut mem, 10),
        Outcome::Fault(CsFault::InvalidRegister { va: CODE, reg: 3 })
    );
    // MOVE32 beyond r95.
    let mut cs = start_at(
        &mut mem,
        CODE,
        &[encode(&Instr::Move32 { dst: 96, imm: 1 })],
    );
    assert_eq!(
        cs.run(&mut mem, 10),
        Outcome::Fault(CsFault::InvalidRegister { va: CODE, reg: 96 })
    );
    // A LOAD_MULTIPLE tuple running past r95.
    let lm = Instr::LoadMultiple {
        base: 90,
        mask: 0x0041,
        addr: 0,
        offset: 0,
    };
    let mut cs = start_at(&mut mem, CODE, &[encode(&lm)]);
    assert_eq!(
        cs.run(&mut mem, 10),
        Outcome::Fault(CsFault::InvalidRegister { va: CODE, reg: 96 })
    );
}

#[test]
fn arithmetic_wraps_and_sign_extends() {
    let mut mem = VecMem::new(0, 0x2_0000);
    let prog = build(|b| {
        b.mov32(1, u32::MAX)
            .add32(2, 1, 1)
            .mov48(4, 0x1_0000_0000)
            .add64(6, 4, -1)
            .mov64(8, u64::MAX)
            .add64(8, 8, 2)
            .mov48(10, 0xffff_ffff_ffff)
            .add64(10, 10, i32::MIN);
    });
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Done);
    assert_eq!(cs.regs[2], 0);
    assert_eq!(cs.reg64(6), 0xffff_ffff);
    assert_eq!(cs.reg64(8), 1);
    assert_eq!(cs.reg64(10), 0xffff_ffff_ffff - 0x8000_0000);
}

#[test]
fn sparse_masks_address_by_bit_index() {
    let mut mem = VecMem::new(0, 0x2_0000);
    for i in 0..16u64 {
        mem.put32(0x3000 + 4 * i, 0x100 + i as u32);
    }
    let prog = build(|b| {
        b.mov48(0, 0x3000)
            // r10 <- [+4*1], r12 <- [+4*3], r24 <- [+4*15].
            .load_multiple(9, 0b1000_0000_0000_1010, 0, 0)
            // [0x3400 + 8 + 4*i] <- r(9+i) for the same bits.
            .mov48(2, 0x3400)
            .store_multiple(9, 0b1000_0000_0000_1010, 2, 8)
            .load_multiple(40, 0b11, 0, -4 + 8);
    });
    let mut cs = start_at(&mut mem, CODE, &prog);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Done);
    assert_eq!((cs.regs[9], cs.regs[10], cs.regs[11]), (0, 0x101, 0));
    assert_eq!((cs.regs[12], cs.regs[24]), (0x103, 0x10f));
    assert_eq!(mem.get32(0x3400 + 8 + 4), 0x101);
    assert_eq!(mem.get32(0x3400 + 8 + 12), 0x103);
    assert_eq!(mem.get32(0x3400 + 8 + 60), 0x10f);
    assert_eq!(mem.get32(0x3400 + 8), 0);
    assert_eq!(mem.get32(0x3400 + 8 + 8), 0);
    assert_eq!((cs.regs[40], cs.regs[41]), (0x101, 0x102));
}

#[test]
fn kernel_ring_job_sequence_runs() {
    // The job sequence panthor writes into a queue's ring buffer
    // (queue_run_job, non-profiling), with addr_reg = 92, val_reg = 94 and
    // 8 scoreboard slots, calling a user stream and signalling its syncobj
    // ({ u64 seqno; u32 status; u32 pad; }).
    let (addr_reg, val_reg) = (92u64, 94u64);
    let user_start = SUB;
    let sync_addr = SYNC;
    let latest_flush = 5u64;
    let user = build(|b| {
        b.mov32(0, 0x1234);
    });
    let mut mem = VecMem::new(0, 0x2_0000);
    put_words(&mut mem, user_start, &user);
    let size = (user.len() * 8) as u64;
    let ring = [
        2 << 56 | val_reg << 48 | latest_flush,
        36 << 56 | val_reg << 40 | 0x233,
        1 << 56 | addr_reg << 48 | user_start,
        2 << 56 | val_reg << 48 | size,
        3 << 56 | 1 << 16,
        32 << 56 | addr_reg << 40 | val_reg << 32,
        1 << 56 | addr_reg << 48 | sync_addr,
        1 << 56 | val_reg << 48 | 1,
        3 << 56 | 0xff << 16,
        51 << 56 | addr_reg << 40 | val_reg << 32 | 1,
        47 << 56,
        0,
        0,
        0,
        0,
        0,
    ];
    let disasm: Vec<String> = ring.iter().map(|&x| decode(x).to_string()).collect();
    assert_eq!(
        disasm[1],
        "FLUSH_CACHE2.clean_inv_l2.clean_inv_lsc.invalidate_other r94, #0x0, #0"
    );
    assert_eq!(disasm[5], "CALL d92, r94");
    assert_eq!(
        disasm[9],
        "SYNC_ADD64.system.propagate [d92], d94, #0x0, #0"
    );
    mem.put64(sync_addr, 41);
    mem.put32(sync_addr + 8, 7);
    let mut cs = start_at(&mut mem, CODE, &ring);
    assert_eq!(cs.run(&mut mem, 100), Outcome::Done);
    assert_eq!(cs.regs[0], 0x1234);
    assert_eq!(mem.get64(sync_addr), 42);
    assert_eq!(mem.get32(sync_addr + 8), 0);
}

// ---------------------------------------------------------------------------
// Builder.

#[test]
fn builder_labels_forward_and_backward() {
    let mut b = CsBuilder::new();
    let fwd = b.new_label();
    let back = b.new_label();
    b.bind(back); // 0
    b.branch_to(Condition::Equal, 1, fwd); // 0 -> 3: offset 2
    b.nop(); // 1
    b.branch_to(Condition::Less, 2, fwd); // 2 -> 3: offset 0
    b.bind(fwd); // 3
    b.branch_to(Condition::Always, 0, back); // 3 -> 0: offset -4
    let words = b.finish().unwrap();
    assert_eq!(
        decode(words[0]),
        Instr::Branch {
            cond: Condition::Equal,
            reg: 1,
            offset: 2
        }
    );
    assert_eq!(
        decode(words[2]),
        Instr::Branch {
            cond: Condition::Less,
            reg: 2,
            offset: 0
        }
    );
    assert_eq!(
        decode(words[3]),
        Instr::Branch {
            cond: Condition::Always,
            reg: 0,
            offset: -4
        }
    );
}

#[test]
fn builder_errors() {
    let mut b = CsBuilder::new();
    let l = b.new_label();
    b.branch_to(Condition::Always, 0, l);
    assert_eq!(b.finish(), Err(BuildError::UnboundLabel { label: 0 }));

    let mut b = CsBuilder::new();
    b.mov48(3, 0);
    assert_eq!(b.finish(), Err(BuildError::UnalignedPair { reg: 3 }));

    let mut b = CsBuilder::new();
    b.mov48(2, 1 << 48);
    assert_eq!(
        b.finish(),
        Err(BuildError::ImmediateOutOfRange { imm: 1 << 48 })
    );

    let mut b = CsBuilder::new();
    b.load_multiple(88, 0xff00, 0, 0);
    assert_eq!(b.finish(), Err(BuildError::RegisterOutOfRange { reg: 103 }));

    let mut b = CsBuilder::new();
    b.mov32(96, 0);
    assert_eq!(b.finish(), Err(BuildError::RegisterOutOfRange { reg: 96 }));

    let mut b = CsBuilder::new();
    b.sync_add64(0, 2, SyncScope::System, false, Async::defer(0b100, 2));
    assert_eq!(b.finish(), Err(BuildError::WaitOnOwnSlot { slot: 2 }));

    let mut b = CsBuilder::new();
    let far = b.new_label();
    b.branch_to(Condition::Always, 0, far);
    for _ in 0..40_000 {
        b.nop();
    }
    b.bind(far);
    assert_eq!(
        b.finish(),
        Err(BuildError::BranchOutOfRange {
            from: 0,
            to: 40_001
        })
    );
}

#[test]
fn builder_mov64_and_bytes() {
    let mut b = CsBuilder::new();
    b.mov64(4, 0x1234_5678_9abc).mov64(6, 0xffff_0000_0000_0001);
    assert_eq!(b.len(), 3);
    let words = b.words().to_vec();
    assert_eq!(decode(words[1]), Instr::Move32 { dst: 6, imm: 1 });
    assert_eq!(
        decode(words[2]),
        Instr::Move32 {
            dst: 7,
            imm: 0xffff_0000
        }
    );
    let bytes = b.finish_bytes().unwrap();
    assert_eq!(bytes.len(), 24);
    assert_eq!(bytes[0..8], words[0].to_le_bytes());
}

#[test]
fn builder_sync_now_encodes_slot_zero() {
    let mut b = CsBuilder::new();
    b.sync_add64(0, 2, SyncScope::Csg, true, Async::NOW)
        .flush_cache2(
            FlushMode::CleanInvalidate,
            FlushMode::CleanInvalidate,
            OtherFlushMode::None,
            4,
            Async::defer(0, 1),
        );
    let words = b.finish().unwrap();
    assert_eq!(
        decode(words[0]),
        Instr::SyncAdd64(sync(0, 2, true, SyncScope::Csg, 0, 0))
    );
    assert_eq!(words[1] >> 48 & 0xf, 1);
}

// ---------------------------------------------------------------------------
// Throughput report (not a pass/fail timing test):
// cargo test --release -p panthor-sim cs::tests::copy_throughput_report -- --ignored --nocapture

/// Only the required methods: word-by-word LOAD/STORE_MULTIPLE.
struct WordMem<'a>(&'a mut VecMem);

impl CsMemory for WordMem<'_> {
    fn timestamp(&mut self) -> u64 {
        self.0.timestamp()
    }
    fn cycle_count(&mut self) -> u64 {
        self.0.cycle_count()
    }
    fn read_u32(&mut self, va: u64) -> Result<u32, MemFault> {
        self.0.read_u32(va)
    }
    fn write_u32(&mut self, va: u64, v: u32) -> Result<(), MemFault> {
        self.0.write_u32(va, v)
    }
    fn read_u64(&mut self, va: u64) -> Result<u64, MemFault> {
        self.0.read_u64(va)
    }
    fn write_u64(&mut self, va: u64, v: u64) -> Result<(), MemFault> {
        self.0.write_u64(va, v)
    }
}

#[test]
#[ignore]
fn copy_throughput_report() {
    let (mut mem, prog) = copy_setup();
    let rounds = 20;
    for bulk in [true, false] {
        let t = std::time::Instant::now();
        let mut instrs = 0;
        for _ in 0..rounds {
            let mut cs = start_at(&mut mem, CODE, &prog);
            let out = if bulk {
                cs.run(&mut mem, u64::MAX)
            } else {
                cs.run(&mut WordMem(&mut mem), u64::MAX)
            };
            assert_eq!(out, Outcome::Done);
            instrs += cs.retired();
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "copy loop ({}): {instrs} instructions in {s:.3} s = {:.1} M instr/s, {:.0} MiB/s",
            if bulk {
                "bulk read_u32s/write_u32s"
            } else {
                "word by word"
            },
            instrs as f64 / s / 1e6,
            rounds as f64 / s
        );
    }
}
