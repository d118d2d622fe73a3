//! The file header: what produced the ledger. Byte layout in docs/ledger-format.md.
//!
//! ```text
//! offset size field
//!      0    8 magic              b"TAPELDGR"
//!      8    2 format_version     u16 (this version: FORMAT_VERSION)
//!     10    2 reserved           0
//!     12    4 header_len         u32, total header bytes incl. padding, a multiple of 8
//!     16    4 crc32c             over bytes [0, 16) and [20, header_len)
//!     20    4 salt               u32, copied into every frame
//!     24    4 block_target_bytes u32
//!     28    4 reserved           0
//!     32   32 seed               the run's full ChaCha seed
//!     64    … engine_version     str   (str = u32 length, UTF-8 bytes)
//!           … scenario           str
//!           … symbols            u32 count, then count × str
//!           … features           u32 count, then count × str (from version 3)
//!           … inputs             u32 count, then count × (str name, 32-byte BLAKE3)
//!           … rules              u32 count, then count × (u16 id, str name, str summary,
//!                                u8 field count, field count × (str name, u8 unit))
//!           … config             str   (canonical TOML)
//!           … padding            zero bytes to a multiple of 8
//! ```
//! `magic` and `format_version` stay at these offsets in every future version, so a reader
//! can always tell "not a ledger" from "a ledger newer than me".

use super::error::LedgerReadError;
use crate::event::{Rule, RuleId, RuleTable, Unit};

/// The first 8 bytes of every ledger.
pub const MAGIC: [u8; 8] = *b"TAPELDGR";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 3;
/// The oldest format version this build still reads (version 1 lacks the data-guard kinds,
/// version 2 the feature table and kind).
pub const MIN_FORMAT_VERSION: u16 = 1;
/// A block is sealed once its frames reach this many bytes.
pub const BLOCK_TARGET_BYTES: u32 = 64 * 1024;
/// The largest header a reader accepts (it bounds the allocation a corrupt length can cause).
pub const MAX_HEADER_LEN: usize = 16 << 20;
/// The version of the engine writing ledgers (Cargo package version).
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// An input file or source and the BLAKE3 of its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSource {
    /// A name for the source (a path as given, or a generator's name).
    pub name: String,
    /// BLAKE3 of its bytes (for a generator: of its canonical parameters).
    pub blake3: [u8; 32],
}

/// Everything that determined a run, as stored at the start of its ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The ledger format version (new ledgers: [`FORMAT_VERSION`]; older ones keep theirs).
    pub format_version: u16,
    /// Per-ledger salt carried by every frame. Derived from the rest of the header, so that
    /// a rerun of the same configuration writes the same bytes while frames of ledgers of
    /// other runs never verify here.
    pub salt: u32,
    /// Block size target used by the writer.
    pub block_target_bytes: u32,
    /// The run's ChaCha seed.
    pub seed: [u8; 32],
    /// Engine version that wrote the ledger.
    pub engine_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Symbol table: `SymbolId(i)` is `symbols[i]`.
    pub symbols: Vec<String>,
    /// Feature table: `FeatureId(i)` is `features[i]` (empty before version 3).
    pub features: Vec<String>,
    /// Content hashes of the inputs.
    pub inputs: Vec<InputSource>,
    /// The rules reasons may name.
    pub rules: RuleTable,
    /// Canonical configuration (TOML).
    pub config: String,
}

impl Header {
    /// A header for a new run; computes the salt.
    pub fn new(
        seed: [u8; 32],
        scenario: String,
        symbols: Vec<String>,
        inputs: Vec<InputSource>,
        rules: RuleTable,
        config: String,
    ) -> Self {
        let header = Self {
            format_version: FORMAT_VERSION,
            salt: 0,
            block_target_bytes: BLOCK_TARGET_BYTES,
            seed,
            engine_version: ENGINE_VERSION.to_string(),
            scenario,
            symbols,
            features: Vec::new(),
            inputs,
            rules,
            config,
        };
        header.with_engine_version(ENGINE_VERSION)
    }

    /// The same header with a feature table (the salt follows).
    pub fn with_features(mut self, features: Vec<String>) -> Self {
        self.features = features;
        let version = self.engine_version.clone();
        self.with_engine_version(&version)
    }

    /// The same header as written by another engine version (the salt follows). Replay
    /// re-executes an old ledger under its recorded version string, so the frames can match
    /// byte for byte whenever behaviour did not change.
    pub fn with_engine_version(mut self, version: &str) -> Self {
        self.engine_version = version.to_string();
        self.salt = 0;
        let digest = blake3::hash(&self.encode());
        self.salt = u32::from_le_bytes([
            digest.as_bytes()[0],
            digest.as_bytes()[1],
            digest.as_bytes()[2],
            digest.as_bytes()[3],
        ]);
        self
    }

    /// BLAKE3 of the canonical configuration bytes.
    pub fn config_digest(&self) -> [u8; 32] {
        *blake3::hash(self.config.as_bytes()).as_bytes()
    }

    /// The header's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.config.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.format_version.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // header_len, patched below
        out.extend_from_slice(&0u32.to_le_bytes()); // crc, patched below
        out.extend_from_slice(&self.salt.to_le_bytes());
        out.extend_from_slice(&self.block_target_bytes.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.seed);
        put_str(&mut out, &self.engine_version);
        put_str(&mut out, &self.scenario);
        out.extend_from_slice(&(self.symbols.len() as u32).to_le_bytes());
        for s in &self.symbols {
            put_str(&mut out, s);
        }
        if self.format_version >= 3 {
            out.extend_from_slice(&(self.features.len() as u32).to_le_bytes());
            for f in &self.features {
                put_str(&mut out, f);
            }
        }
        out.extend_from_slice(&(self.inputs.len() as u32).to_le_bytes());
        for i in &self.inputs {
            put_str(&mut out, &i.name);
            out.extend_from_slice(&i.blake3);
        }
        out.extend_from_slice(&(self.rules.rules().len() as u32).to_le_bytes());
        for r in self.rules.rules() {
            out.extend_from_slice(&r.id.0.to_le_bytes());
            put_str(&mut out, &r.name);
            put_str(&mut out, &r.summary);
            out.push(r.fields.len() as u8);
            for (name, unit) in &r.fields {
                put_str(&mut out, name);
                out.push(unit.code());
            }
        }
        put_str(&mut out, &self.config);
        let len = out.len().next_multiple_of(8);
        out.resize(len, 0);
        out[12..16].copy_from_slice(&(len as u32).to_le_bytes());
        let crc = header_crc(&out);
        out[16..20].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads the fixed prefix (`magic`, `format_version`, `header_len`) of a file's first 16
    /// bytes: the header length to read next.
    pub fn parse_prefix(prefix: &[u8; 16]) -> Result<usize, LedgerReadError> {
        if prefix[0..8] != MAGIC {
            return Err(LedgerReadError::NotALedger);
        }
        let version = u16::from_le_bytes([prefix[8], prefix[9]]);
        if version > FORMAT_VERSION {
            return Err(LedgerReadError::NewerFormat {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version < MIN_FORMAT_VERSION {
            return Err(LedgerReadError::OlderFormat {
                found: version,
                supported: MIN_FORMAT_VERSION,
            });
        }
        let len = u32::from_le_bytes([prefix[12], prefix[13], prefix[14], prefix[15]]) as usize;
        if !(64..=MAX_HEADER_LEN).contains(&len) || !len.is_multiple_of(8) {
            return Err(LedgerReadError::HeaderCorrupt {
                detail: format!("implausible header length {len}"),
            });
        }
        Ok(len)
    }

    /// Decodes a whole header (`bytes.len()` is the `header_len` from [`Header::parse_prefix`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, LedgerReadError> {
        let corrupt = |detail: &str| LedgerReadError::HeaderCorrupt {
            detail: detail.to_string(),
        };
        // Shorter than the smallest header `parse_prefix` admits: refused before any field
        // is read, so no slice below can run past the end.
        if bytes.len() < 64 {
            return Err(corrupt("short header"));
        }
        let stored = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        if stored != header_crc(bytes) {
            return Err(corrupt("header checksum mismatch"));
        }
        if bytes[10..12] != [0, 0] {
            return Err(corrupt("reserved field at byte 10 is not zero"));
        }
        let mut c = Cursor { rest: &bytes[20..] };
        let salt = c.u32()?;
        let block_target_bytes = c.u32()?;
        if c.u32()? != 0 {
            return Err(corrupt("reserved field is not zero"));
        }
        let seed = c.array()?;
        let engine_version = c.str()?;
        let scenario = c.str()?;
        let symbols = (0..c.u32()?)
            .map(|_| c.str())
            .collect::<Result<Vec<_>, _>>()?;
        let format_version = u16::from_le_bytes([bytes[8], bytes[9]]);
        let features = if format_version >= 3 {
            (0..c.u32()?)
                .map(|_| c.str())
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        let inputs = (0..c.u32()?)
            .map(|_| {
                Ok(InputSource {
                    name: c.str()?,
                    blake3: c.array()?,
                })
            })
            .collect::<Result<Vec<_>, LedgerReadError>>()?;
        let mut rules = Vec::new();
        for _ in 0..c.u32()? {
            let id = RuleId(u16::from_le_bytes(c.array()?));
            let name = c.str()?;
            let summary = c.str()?;
            let count = c.array::<1>()?[0];
            let mut fields = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let field = c.str()?;
                let code = c.array::<1>()?[0];
                fields.push((
                    field,
                    Unit::from_code(code)
                        .ok_or_else(|| corrupt("unknown unit code in rule table"))?,
                ));
            }
            if rules.last().is_some_and(|r: &Rule| r.id >= id) {
                return Err(corrupt("rule table is not in increasing id order"));
            }
            rules.push(Rule {
                id,
                name,
                summary,
                fields,
            });
        }
        let rules = RuleTable::new(rules).ok_or_else(|| corrupt("two rules share an id"))?;
        let config = c.str()?;
        if c.rest.len() >= 8 || c.rest.iter().any(|&b| b != 0) {
            return Err(corrupt("unexpected bytes after the configuration"));
        }
        if block_target_bytes == 0 || block_target_bytes as usize > super::frame::MAX_FRAME_LEN {
            return Err(corrupt("implausible block size"));
        }
        Ok(Self {
            format_version,
            salt,
            block_target_bytes,
            seed,
            engine_version,
            scenario,
            symbols,
            features,
            inputs,
            rules,
            config,
        })
    }
}

fn header_crc(bytes: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&bytes[0..16]), &bytes[20..])
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl Cursor<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], LedgerReadError> {
        if self.rest.len() < N {
            return Err(LedgerReadError::HeaderCorrupt {
                detail: "header ends early".to_string(),
            });
        }
        let mut out = [0u8; N];
        out.copy_from_slice(&self.rest[..N]);
        self.rest = &self.rest[N..];
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32, LedgerReadError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn str(&mut self) -> Result<String, LedgerReadError> {
        let len = self.u32()? as usize;
        if self.rest.len() < len {
            return Err(LedgerReadError::HeaderCorrupt {
                detail: "header ends inside a string".to_string(),
            });
        }
        let (s, rest) = self.rest.split_at(len);
        self.rest = rest;
        String::from_utf8(s.to_vec()).map_err(|_| LedgerReadError::HeaderCorrupt {
            detail: "a header string is not UTF-8".to_string(),
        })
    }
}
