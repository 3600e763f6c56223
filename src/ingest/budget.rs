//! A memory budget for one import. A household file's own structures are bounded (rows travel
//! in chunks of at most a few MiB, a workbook's string table is measured before it is read),
//! but what the whole import holds — repeats within the file, the store's index of earlier
//! batches, the workbook's strings — grows with the file. Under a container's memory limit a
//! process that outgrows it is killed with every request in flight; with a budget the import
//! stops first, in words, and nothing of it is kept.
//!
//! The budget is checked against the growth of the process's resident memory since the
//! import began (Linux `/proc/self/status`; elsewhere only the workbook check applies), once
//! per chunk of rows: what the import allocates anywhere, in any library, is counted, and a
//! check costs a few microseconds per few thousand rows.

/// How much the process may grow while one import runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    bytes: u64,
}

impl MemoryBudget {
    /// The default for the command line and the server, in MiB: a million-row file imports
    /// within a few hundred MiB.
    pub const DEFAULT_MIB: u64 = 2048;

    /// A budget of `mib` MiB; `None` for 0 (no budget).
    pub fn mib(mib: u64) -> Option<MemoryBudget> {
        (mib > 0).then(|| MemoryBudget {
            bytes: mib.saturating_mul(1 << 20),
        })
    }

    /// The budget in bytes.
    pub fn bytes(self) -> u64 {
        self.bytes
    }

    /// Starts watching: the process's size now is the base the growth is measured from.
    pub fn watch(self) -> BudgetWatch {
        BudgetWatch {
            budget: self,
            base: resident_bytes(),
        }
    }

    /// Refuses an allocation of `needed` bytes known in advance (a workbook's string table).
    pub fn allows(self, needed: u64, what: &'static str) -> Result<(), OverBudget> {
        if needed > self.bytes {
            return Err(OverBudget {
                limit_mib: self.bytes >> 20,
                needed_mib: needed.div_ceil(1 << 20),
                what,
            });
        }
        Ok(())
    }
}

/// The process's size at the start of an import, to check its growth against a budget.
#[derive(Debug, Clone, Copy)]
pub struct BudgetWatch {
    budget: MemoryBudget,
    base: Option<u64>,
}

impl BudgetWatch {
    /// Whether the process has grown past the budget since the watch began.
    pub fn check(&self) -> Result<(), OverBudget> {
        let (Some(base), Some(now)) = (self.base, resident_bytes()) else {
            return Ok(());
        };
        self.budget.allows(
            now.saturating_sub(base),
            "the import has grown the server by",
        )
    }
}

/// An import stopped by its memory budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what} {needed_mib} MiB, more than the import memory budget of {limit_mib} MiB; nothing \
     was imported: split the file into smaller ones (per kabupaten or kecamatan), or raise \
     --max-import-mib if the machine has the memory"
)]
pub struct OverBudget {
    /// The budget, MiB.
    pub limit_mib: u64,
    /// What was needed, MiB.
    pub needed_mib: u64,
    /// What needed it.
    pub what: &'static str,
}

/// The resident memory of this process in bytes (`VmRSS`), where the system tells it.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib << 10)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn zero_means_no_budget_and_sizes_are_in_mib() {
        assert_eq!(MemoryBudget::mib(0), None);
        assert_eq!(MemoryBudget::mib(3).unwrap().bytes(), 3 << 20);
        let err = MemoryBudget::mib(8)
            .unwrap()
            .allows(9 << 20, "the string table needs")
            .unwrap_err();
        assert_eq!((err.limit_mib, err.needed_mib), (8, 9));
        assert!(err.to_string().contains("--max-import-mib"), "{err}");
        assert!(MemoryBudget::mib(8).unwrap().allows(8 << 20, "x").is_ok());
    }

    #[test]
    fn growth_past_the_budget_is_seen() {
        if resident_bytes().is_none() {
            return;
        }
        let watch = MemoryBudget::mib(16).unwrap().watch();
        assert!(watch.check().is_ok());
        // 64 MiB written (so resident), past a 16 MiB budget.
        let held = vec![1u8; 64 << 20];
        let err = watch.check().unwrap_err();
        assert!(err.needed_mib >= 16, "{err}");
        drop(held);
    }
}
