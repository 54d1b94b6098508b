// SPDX-License-Identifier: GPL-3.0-or-later
//! A run that ended on an error: its in-flight codes go at once where start-up recovery would put them,
//! so the review queue shows them without a restart.

use super::{
    CodeId, CodeState, JobId, Ledger, Move, RecoveryReport, StoreError, apply, begin, corrupt_row,
    ever_sent, finish_attempt, job_row, now_ms, set_reason_key, state,
};
use crate::store::{Actor, JobMode};

impl Ledger {
    /// The run of `job` ended on an error with codes in flight. A RESERVED code never sent to a printer
    /// goes back to the pool; a code SENT, RESERVED again for a reprint, or PRINTED in an inline or
    /// reprint job goes to NEEDS_REVIEW (the recover move) with `reason` (English) and its key and
    /// values; PRINTED codes of batch and no-verify jobs stay PRINTED, their stickers waiting on the
    /// roll. The same moves start-up recovery makes.
    pub fn halt_job(
        &mut self,
        job: JobId,
        reason: &str,
        key: &str,
        args: &[String],
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
            if found_in == CodeState::Printed && mode.printed_may_wait() {
                report.printed_waiting += 1;
                continue;
            }
            if found_in == CodeState::Reserved && !ever_sent(&tx, id)? {
                apply(
                    &tx,
                    id,
                    Move::Release,
                    actor,
                    Some(job),
                    Some("the run ended before this code was sent to a printer"),
                    at,
                )?;
                report.released += 1;
                continue;
            }
            apply(&tx, id, Move::Recover, actor, Some(job), Some(reason), at)?;
            let mut values = vec![found_in.as_str().to_owned()];
            values.extend_from_slice(args);
            set_reason_key(&tx, id, key, &values)?;
            finish_attempt(&tx, id, at, "INTERRUPTED")?;
            report.to_review.push((id, found_in));
        }
        tx.commit()?;
        Ok(report)
    }
}
