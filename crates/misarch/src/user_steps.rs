//! The user-steps file: one whole number per line, the users arriving in
//! that second (an open model), after a header line.
//!
//! MiSArch's runner injects each row as `rampUsers(n).during(1 s)`; past
//! 3,600 rows it sums each minute and injects `rampUsers(sum).during(60 s)`.
//! The same here: up to 3,600 rows the arrivals are the rows, exactly;
//! beyond, each minute's sum is spread over its 60 seconds (the remainder
//! one by one over the first seconds), so every minute gets exactly its
//! sum.

/// Rows beyond which minutes are folded, as MiSArch does.
pub const FOLD_AFTER: usize = 3600;

/// Reads the file: the first line may be a header (any text); every other
/// non-empty line must be a whole number. Errors are `line: message`.
pub fn parse(text: &str) -> Result<Vec<u32>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        match l.parse::<u32>() {
            Ok(n) => out.push(n),
            Err(_) if i == 0 => {}
            Err(_) => {
                return Err((
                    i + 1,
                    format!("{l:?} is not a whole number of users (one per line, after a header)"),
                ));
            }
        }
    }
    Ok(out)
}

/// Arrivals per second as MiSArch injects `rows`.
pub fn arrivals(rows: &[u32]) -> Vec<u32> {
    if rows.len() <= FOLD_AFTER {
        return rows.to_vec();
    }
    let mut out = Vec::with_capacity(rows.len().div_ceil(60) * 60);
    for minute in rows.chunks(60) {
        let sum: u64 = minute.iter().map(|n| u64::from(*n)).sum();
        let (each, extra) = (sum / 60, sum % 60);
        out.extend((0..60u64).map(|s| (each + u64::from(s < extra)) as u32));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_then_rows() {
        assert_eq!(parse("userSteps\n3\n4\n\n0\n"), Ok(vec![3, 4, 0]));
        assert_eq!(parse("5\n6"), Ok(vec![5, 6]), "a header is optional");
        assert_eq!(parse("usersteps\n3\nx\n").unwrap_err().0, 3);
        assert!(parse("usersteps\n-1\n").is_err());
    }

    #[test]
    fn long_files_fold_minutes_keeping_each_sum() {
        let rows: Vec<u32> = (0..3601).map(|i| (i % 7) as u32).collect();
        let a = arrivals(&rows);
        assert_eq!(a.len(), 61 * 60);
        for (m, minute) in rows.chunks(60).enumerate() {
            let want: u32 = minute.iter().sum();
            let got: u32 = a[m * 60..m * 60 + 60].iter().sum();
            assert_eq!(got, want, "minute {m}");
        }
        assert_eq!(arrivals(&[1, 2, 3]), vec![1, 2, 3], "short files are exact");
    }
}
