//! The durable mark: a side file `<ledger>.durable` that says how much of the ledger a
//! returned `fdatasync` covered, so damage after that point can be told from corruption.
//!
//! A power cut (unlike a killed process) drops unsynced writes, and not in order: the
//! kernel writes dirty pages back in any order, so after a cut the file can hold a hole of
//! zeros followed by later, valid frames. Without more knowledge a reader must call that
//! corruption. With the mark it knows that nothing from the hole on was ever reported
//! durable, so the damage is a torn tail that `tape repair` may cut.
//!
//! # Invariants
//! - The writer updates the mark only after the ledger's `fdatasync` returned, and reports
//!   bytes durable only after the mark's own sync returned: the mark never exceeds what is
//!   on disk, and what is reported durable never exceeds the mark.
//! - Two 64-byte slots are written alternately, each with a CRC32C, so a cut during a
//!   mark update leaves the previous mark readable.
//! - A mark names its ledger (salt and the first 16 bytes of `h_0`); a mark of another
//!   ledger, or one that does not check, is ignored, which only makes readers stricter.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The first 8 bytes of each slot.
pub const MARK_MAGIC: [u8; 8] = *b"TAPEDRBL";
/// Bytes per slot; the file holds two.
pub const SLOT_LEN: usize = 64;

/// What a mark records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurableMark {
    /// The ledger's salt.
    pub salt: u32,
    /// The first 16 bytes of the ledger's `h_0` (BLAKE3 of its header).
    pub ledger_id: [u8; 16],
    /// Counts marks written, from 1; the slot is `generation % 2`.
    pub generation: u64,
    /// Bytes of the ledger covered by a returned `fdatasync`.
    pub durable_bytes: u64,
}

impl DurableMark {
    /// The 64 bytes of one slot: magic, salt, 4 zero bytes, generation, durable bytes,
    /// ledger id, 12 zero bytes, CRC32C of bytes 0..60 (all integers little-endian).
    pub fn encode(&self) -> [u8; SLOT_LEN] {
        let mut out = [0u8; SLOT_LEN];
        out[0..8].copy_from_slice(&MARK_MAGIC);
        out[8..12].copy_from_slice(&self.salt.to_le_bytes());
        out[16..24].copy_from_slice(&self.generation.to_le_bytes());
        out[24..32].copy_from_slice(&self.durable_bytes.to_le_bytes());
        out[32..48].copy_from_slice(&self.ledger_id);
        let crc = crc32c::crc32c(&out[..60]);
        out[60..64].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes one slot; `None` unless it is whole and checks.
    pub fn decode(slot: &[u8]) -> Option<Self> {
        let slot = slot.get(..SLOT_LEN)?;
        let le32 =
            |at: usize| u32::from_le_bytes([slot[at], slot[at + 1], slot[at + 2], slot[at + 3]]);
        let le64 = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&slot[at..at + 8]);
            u64::from_le_bytes(b)
        };
        if slot[0..8] != MARK_MAGIC
            || crc32c::crc32c(&slot[..60]) != le32(60)
            || slot[12..16] != [0; 4]
            || slot[48..60] != [0; 12]
        {
            return None;
        }
        let mut ledger_id = [0u8; 16];
        ledger_id.copy_from_slice(&slot[32..48]);
        Some(Self {
            salt: le32(8),
            ledger_id,
            generation: le64(16),
            durable_bytes: le64(24),
        })
    }

    /// Where this mark's slot starts in the file.
    pub fn slot_offset(&self) -> u64 {
        (self.generation % 2) * SLOT_LEN as u64
    }
}

/// The ledger id a mark carries: the first 16 bytes of `h_0`.
pub fn ledger_id(h0: &[u8; 32]) -> [u8; 16] {
    let mut id = [0u8; 16];
    id.copy_from_slice(&h0[..16]);
    id
}

/// The side file of the ledger at `ledger`: the same name with `.durable` appended.
pub fn mark_path(ledger: &Path) -> PathBuf {
    let mut name = ledger.as_os_str().to_os_string();
    name.push(".durable");
    PathBuf::from(name)
}

/// The newest valid mark in `bytes` (the side file's contents) that belongs to the ledger
/// with this salt and `h_0`.
pub fn newest_mark(bytes: &[u8], salt: u32, h0: &[u8; 32]) -> Option<DurableMark> {
    let id = ledger_id(h0);
    bytes
        .chunks(SLOT_LEN)
        .take(2)
        .filter_map(DurableMark::decode)
        .filter(|m| m.salt == salt && m.ledger_id == id)
        .max_by_key(|m| m.generation)
}

/// Reads the mark of the ledger at `ledger`, if a valid one of this ledger exists.
pub fn read_mark(ledger: &Path, salt: u32, h0: &[u8; 32]) -> Option<DurableMark> {
    let mut bytes = Vec::with_capacity(2 * SLOT_LEN);
    File::open(mark_path(ledger))
        .and_then(|f| f.take(2 * SLOT_LEN as u64).read_to_end(&mut bytes))
        .ok()?;
    newest_mark(&bytes, salt, h0)
}

/// The open side file a writer updates.
pub struct MarkFile {
    file: File,
    path: PathBuf,
}

impl MarkFile {
    /// Creates (or empties) the side file of `ledger` and syncs it, so a mark left by an
    /// earlier ledger of the same name can never describe this one.
    pub fn create(ledger: &Path) -> std::io::Result<Self> {
        let path = mark_path(ledger);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        file.sync_all()?;
        Ok(Self { file, path })
    }

    /// Deletes the side file once the ledger is closed and synced whole. Best effort: the
    /// last mark covers the whole file, so a mark that survives (a failed unlink, or one a
    /// power cut undoes) excuses nothing.
    pub fn remove(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }

    /// Writes `mark` into its slot and syncs it.
    pub fn record(&mut self, mark: &DurableMark) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(mark.slot_offset()))?;
        self.file.write_all(&mark.encode())?;
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(generation: u64, durable_bytes: u64) -> DurableMark {
        DurableMark {
            salt: 7,
            ledger_id: [3; 16],
            generation,
            durable_bytes,
        }
    }

    #[test]
    fn a_slot_round_trips_and_any_flipped_bit_voids_it() {
        let m = mark(5, 4096);
        let slot = m.encode();
        assert_eq!(DurableMark::decode(&slot), Some(m));
        for bit in 0..SLOT_LEN * 8 {
            let mut bad = slot;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(DurableMark::decode(&bad), None, "bit {bit}");
        }
    }

    #[test]
    fn the_newest_valid_slot_of_this_ledger_wins() {
        let h0 = {
            let mut h = [0u8; 32];
            h[..16].copy_from_slice(&[3; 16]);
            h
        };
        let mut file = [0u8; 2 * SLOT_LEN];
        file[..SLOT_LEN].copy_from_slice(&mark(4, 100).encode());
        file[SLOT_LEN..].copy_from_slice(&mark(5, 200).encode());
        assert_eq!(
            newest_mark(&file, 7, &h0).map(|m| m.durable_bytes),
            Some(200)
        );
        // A torn update of slot 1 leaves slot 0's mark.
        file[SLOT_LEN + 30] ^= 0xFF;
        assert_eq!(
            newest_mark(&file, 7, &h0).map(|m| m.durable_bytes),
            Some(100)
        );
        // Another ledger's marks are ignored.
        assert_eq!(newest_mark(&file, 8, &h0), None);
        assert_eq!(newest_mark(&file, 7, &[0; 32]), None);
    }
}
