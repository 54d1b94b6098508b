// SPDX-License-Identifier: GPL-3.0-or-later
//! A run that ended on an error: its in-flight codes go at once where start-up recovery would put them,
//! so the review queue shows them without a restart.

use super::{
    CodeId, CodeState, Ended, JobId, Ledger, NextStart, RecoveryReport, StoreError, begin,
    corrupt_row, job_row, next_start, now_ms, settle_in_flight, state,
};
use crate::{Actor, JobMode};

impl Ledger {
    /// The run of `job` ended on `error` (English) with codes in flight: each is settled as start-up
    /// recovery would settle it (`settle_in_flight`), with the error in its review reason (key
    /// `line-error`, values: the state it was found in, the error). The job stays open; closing it later
    /// finds nothing in flight.
    pub fn halt_job(
        &mut self,
        job: JobId,
        error: &str,
        actor: &Actor,
    ) -> Result<RecoveryReport, StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let (_, mode, _) = job_row(&tx, job)?;
        let mode = JobMode::parse(&mode)
            .ok_or_else(|| corrupt_row(&self.path, format!("job mode {mode}")))?;
        let found: Vec<(i64, String)> = tx
            .prepare(
                "SELECT id, state FROM codes
                 WHERE job_id = ?1 AND state IN ('RESERVED', 'SENT', 'PRINTED') ORDER BY id",
            )?
            .query_map([job.0], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut report = RecoveryReport::default();
        for (id, found_in) in found {
            let id = CodeId(id);
            let found_in: CodeState = found_in
                .parse()
                .map_err(|e: state::UnknownState| corrupt_row(&self.path, e))?;
            let next = next_start(&tx, id, found_in, mode)?;
            settle_in_flight(&tx, id, found_in, next, Ended::Error(error), actor, at)?;
            match next {
                NextStart::WaitsForScan => report.printed_waiting += 1,
                NextStart::ToPool => report.released += 1,
                NextStart::ToReview => report.to_review.push((id, found_in)),
            }
        }
        tx.commit()?;
        Ok(report)
    }
}
