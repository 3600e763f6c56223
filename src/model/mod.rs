//! The model every stage shares: households, their geocoding results, batches, the facts
//! aggregation reads, periods, jurisdictions, accounts and the audit trail. It depends on [`crate::region`] only; every
//! later stage depends on it.

pub mod access;
pub mod account;
pub mod audit;
pub mod batch;
pub mod facts;
pub mod geocode;
pub mod household;
pub mod period;
pub mod program;
pub mod round;
pub mod sheet;

pub use access::{Role, Scope};
pub use account::{
    Account, AccountError, NewToken, NewUser, Password, Principal, SessionInfo, TokenInfo, User,
    UserChange, UserName,
};
pub use audit::{AuditAction, AuditEntry, AuditFilter, AuditRecord, ChainBreak, ChainCheck};
pub use batch::{
    BatchCounts, BatchInfo, BatchSink, BatchState, BatchStatus, NewBatch, StoredHousehold,
    Transition, TransitionRefused,
};
pub use facts::{Denominators, HouseholdFacts};
pub use geocode::{Flag, Flags, Geocode, GeocodeSummary, Quality, MAX_CANDIDATES};
pub use household::{
    Address, AttrName, DesilScale, DuplicateOf, Household, IdHash, Program, Programs, Reject, Sex,
    SourceFormat, Text, UnknownFormat,
};
pub use period::{BadPeriod, Period};
pub use program::{
    BadProgram, Coverage, DesilRange, ListInfo, Member, NewProgram, ProgramInfo, ProgramKind,
    TargetList, TargetMember,
};
pub use round::{BadRound, Round};
