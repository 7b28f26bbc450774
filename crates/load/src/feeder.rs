//! CSV data feeders: rows handed to iterations as variables.

use std::path::Path;

use crate::plan::FeederMode;

/// The rows of a CSV file, loaded once before the run.
#[derive(Debug)]
pub struct FeederData {
    /// Column names from the header row.
    pub columns: Vec<String>,
    /// Data rows.
    pub rows: Vec<Vec<String>>,
    /// How rows are picked.
    pub mode: FeederMode,
}

/// A feeder file that cannot be used: unreadable, no header, no rows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FeederError(pub String);

impl FeederData {
    /// Reads `path`; the first row names the columns, and at least one data row is required.
    pub fn load(path: &Path, mode: FeederMode) -> Result<Self, FeederError> {
        Self::read(path, mode).map_err(FeederError)
    }

    /// Reads CSV text that arrived from elsewhere (a fleet coordinator);
    /// `label` names it in errors.
    pub fn parse(text: &str, label: &Path, mode: FeederMode) -> Result<Self, FeederError> {
        Self::from_reader(csv::Reader::from_reader(text.as_bytes()), label, mode)
            .map_err(FeederError)
    }

    fn read(path: &Path, mode: FeederMode) -> Result<Self, String> {
        let rdr = csv::Reader::from_path(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_reader(rdr, path, mode)
    }

    fn from_reader<R: std::io::Read>(
        mut rdr: csv::Reader<R>,
        path: &Path,
        mode: FeederMode,
    ) -> Result<Self, String> {
        let columns: Vec<String> = rdr
            .headers()
            .map_err(|e| format!("{}: {e}", path.display()))?
            .iter()
            .map(|s| s.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| format!("{}: row {}: {e}", path.display(), i + 2))?;
            rows.push(rec.iter().map(str::to_string).collect());
        }
        if rows.is_empty() {
            return Err(format!("{} has no data rows", path.display()));
        }
        Ok(Self {
            columns,
            rows,
            mode,
        })
    }

    /// The row for iteration `n` (sequential) or for a random draw `r`.
    pub fn row(&self, n: u64, r: u64) -> &[String] {
        let i = match self.mode {
            FeederMode::Sequential => n,
            FeederMode::Random => r,
        } % self.rows.len() as u64;
        &self.rows[i as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_and_wraps() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("users.csv");
        std::fs::write(&p, "user,pass\nann,1\nbob,2\n").unwrap();
        let f = FeederData::load(&p, FeederMode::Sequential).unwrap();
        assert_eq!(f.columns, ["user", "pass"]);
        assert_eq!(f.row(0, 9)[0], "ann");
        assert_eq!(f.row(3, 9)[0], "bob");
    }

    #[test]
    fn empty_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.csv");
        std::fs::write(&p, "user\n").unwrap();
        assert!(
            FeederData::load(&p, FeederMode::Random)
                .unwrap_err()
                .0
                .contains("no data rows")
        );
    }
}
