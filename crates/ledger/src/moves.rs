// SPDX-License-Identifier: GPL-3.0-or-later
//! A code's moves on the line and by a supervisor (reserve, send, print, reject, verify, report, recover,
//! reprint, confirm, write off), each one transaction through [`apply`], which checks the move against
//! the state machine and writes the code's event row (and the outbox row and audit entry it owes).

use super::*;

impl Ledger {
    // ---- the line -------------------------------------------------------------------------------

    /// Take the oldest AVAILABLE code of the job's product (codes nearest expiry first, where known).
    pub fn reserve(&mut self, job: JobId, actor: &Actor) -> Result<CodeRecord, StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let (gtin, _, closed) = job_row(&tx, job)?;
        if closed {
            return Err(StoreError::JobClosed(job.0));
        }
        // Codes held after a restore are skipped: a station may have printed them after the backup.
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM codes WHERE gtin = ?1 AND state = 'AVAILABLE'
                   AND NOT EXISTS (SELECT 1 FROM code_holds h WHERE h.code_id = codes.id AND h.ended_at IS NULL)
                 ORDER BY expires_at IS NULL, expires_at, id LIMIT 1",
                [&gtin],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else {
            let g = Gtin::parse(&gtin).map_err(|e| StoreError::InvalidProduct(e.to_string()))?;
            let held = holds::held_of(&tx, &g)?;
            return Err(if held > 0 {
                StoreError::PoolHeld { gtin: g, held }
            } else {
                StoreError::PoolEmpty(g)
            });
        };
        // A job for a consignment takes no more codes than its line declares.
        let consignment: Option<String> = tx
            .query_row(
                "SELECT consignment FROM consignment_jobs WHERE job_id = ?1",
                [job.0],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(k) = &consignment {
            let g = Gtin::parse(&gtin).map_err(|e| StoreError::InvalidProduct(e.to_string()))?;
            let room = consignments::line_room(&tx, k, &g)?;
            if room.left() == 0 {
                return Err(StoreError::LineFull {
                    consignment: k.clone(),
                    gtin: g,
                    declared: room.declared,
                    used: room.used,
                });
            }
        }
        apply(&tx, CodeId(id), Move::Reserve, actor, Some(job), None, at)?;
        let rec = code_row(&tx, CodeId(id))?;
        tx.commit()?;
        Ok(rec)
    }

    /// Give back a reserved code whose label never left the station. Refused for a code that was ever
    /// handed to a printer (a supervisor's reprint reserves such codes): a sticker of it may exist.
    pub fn release(&mut self, id: CodeId, job: JobId, actor: &Actor) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        if ever_sent(&tx, id)? {
            return Err(StoreError::IllegalMove {
                id: id.0,
                state: CodeState::Reserved,
                mv: Move::Release.as_str(),
                expected: "a code never sent to a printer".into(),
            });
        }
        apply(&tx, id, Move::Release, actor, Some(job), None, at)?;
        tx.commit()?;
        Ok(())
    }

    /// Record that the label is going to the printer. Call this *before* the first byte is written, so a
    /// crash during the write leaves the code SENT (reviewed), never AVAILABLE (reused).
    /// The hash of the exact ZPL is always kept; the bytes too when `keep_zpl` (for reprint and review).
    pub fn mark_sent(
        &mut self,
        id: CodeId,
        job: JobId,
        printer: &str,
        zpl: &[u8],
        keep_zpl: bool,
        actor: &Actor,
    ) -> Result<i64, StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        apply(&tx, id, Move::Send, actor, Some(job), None, at)?;
        // From its first label on, a code labelled for a consignment belongs to it for good.
        tx.execute(
            "INSERT INTO consignment_codes (code_id, consignment, at)
             SELECT ?1, consignment, ?3 FROM consignment_jobs WHERE job_id = ?2
             ON CONFLICT (code_id) DO NOTHING",
            params![id.0, job.0, at],
        )?;
        tx.execute(
            "INSERT INTO print_attempts (code_id, job_id, printer, zpl_sha256, zpl, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id.0,
                job.0,
                printer,
                hex::encode(Sha256::digest(zpl)),
                keep_zpl.then_some(zpl),
                at
            ],
        )?;
        let attempt = tx.last_insert_rowid();
        tx.commit()?;
        Ok(attempt)
    }

    /// The printer finished the label.
    pub fn mark_printed(
        &mut self,
        id: CodeId,
        job: JobId,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        apply(&tx, id, Move::Print, actor, Some(job), None, at)?;
        finish_attempt(&tx, id, at, "PRINTED")?;
        tx.commit()?;
        Ok(())
    }

    /// Printing or verification failed; the code waits for a supervisor and is never reused silently.
    pub fn reject(
        &mut self,
        id: CodeId,
        job: JobId,
        reason: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        self.reject_keyed(id, job, reason, "", &[], actor)
    }

    /// [`reject`](Ledger::reject), with the reason also as a key and its values (see the engine's
    /// `words::REASON_KEYS`), so screens word it in the reader's language. An empty key stores none.
    pub fn reject_keyed(
        &mut self,
        id: CodeId,
        job: JobId,
        reason: &str,
        key: &str,
        args: &[String],
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        apply(&tx, id, Move::Reject, actor, Some(job), Some(reason), at)?;
        if !key.is_empty() {
            set_reason_key(&tx, id, key, args)?;
        }
        finish_attempt(&tx, id, at, "REJECTED")?;
        tx.commit()?;
        Ok(())
    }

    /// The scan matched: count the code as applied, once, and owe the registry its application report.
    pub fn verify(
        &mut self,
        id: CodeId,
        job: JobId,
        scan: &ScanProof<'_>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        apply(&tx, id, Move::Verify, actor, Some(job), None, at)?;
        record_match(&tx, &self.station, id, Some(job), scan, at)?;
        tx.commit()?;
        Ok(())
    }

    /// The registry accepted the code's application report `report_id` (a report of this code alone; the
    /// sync engine reports in batches through [`reports`]).
    pub fn mark_reported(
        &mut self,
        id: CodeId,
        report_id: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let batch = self.start_report_for(reports::ReportKind::Utilisation, "manual", &[id])?;
        self.report_sent(batch.id, report_id)?;
        self.report_accepted(batch.id, actor)
    }

    /// The registry refused the code in a report: a supervisor must look at it.
    pub fn registry_refused(
        &mut self,
        id: CodeId,
        reason: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        apply(&tx, id, Move::RegistryRefuse, actor, None, Some(reason), at)?;
        set_reason_key(&tx, id, "registry-refused", &[reason.to_owned()])?;
        tx.execute(
            "UPDATE outbox SET status = 'REJECTED', last_error = ?2 WHERE code_id = ?1 AND kind = 'UTILISATION'",
            params![id.0, reason],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Start-up recovery. Codes RESERVED or SENT, and PRINTED codes of inline and reprint jobs, were in
    /// flight when the last run stopped: whether their sticker exists or is on a shoe is unknown, so they
    /// go to NEEDS_REVIEW. PRINTED codes of batch and no-verify jobs stay PRINTED: their stickers wait on
    /// the roll for a scan by design. Call only while holding the [`StationLock`].
    pub fn recover(&mut self, actor: &Actor) -> Result<RecoveryReport, StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let mut report = RecoveryReport::default();
        for InFlight {
            id,
            state,
            next_start,
            ..
        } in in_flight(&tx, &self.path)?
        {
            settle_in_flight(&tx, id, state, next_start, Ended::StationStopped, actor, at)?;
            match next_start {
                NextStart::WaitsForScan => report.printed_waiting += 1,
                NextStart::ToPool => report.released += 1,
                NextStart::ToReview => report.to_review.push((id, state)),
            }
        }
        report.jobs_closed = tx.execute(
            "UPDATE jobs SET closed_at = ?2 WHERE closed_at IS NULL AND station = ?1 AND mode IN ('INLINE', 'REPRINT')",
            params![self.station, at],
        )? as u64;
        if !report.to_review.is_empty() || report.jobs_closed > 0 || report.released > 0 {
            let detail = serde_json::json!({
                "to_review": report.to_review.len(),
                "released": report.released,
                "printed_waiting": report.printed_waiting,
                "jobs_closed": report.jobs_closed,
            });
            audit::append(
                &tx,
                at,
                actor,
                "ledger.recover",
                &self.station,
                &detail.to_string(),
            )?;
        }
        tx.commit()?;
        Ok(report)
    }

    /// The codes in flight and what the next start-up recovery will do with each, changing nothing. While
    /// no station holds the [`StationLock`] these are what an interrupted run (a kill, a power cut) left;
    /// while one runs they are its live work.
    pub fn pending_recovery(&self) -> Result<Vec<InFlight>, StoreError> {
        in_flight(&self.conn, &self.path)
    }

    // ---- supervisor actions ---------------------------------------------------------------------

    /// Supervisor: print a REJECTED or NEEDS_REVIEW code again, under `job`. Only when its earlier sticker
    /// was not applied; the engine asks. A second physical copy is caught when it is scanned.
    pub fn reprint(
        &mut self,
        id: CodeId,
        job: JobId,
        reason: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let from = apply(&tx, id, Move::Reprint, actor, Some(job), None, at)?;
        let ident = code_ident(&tx, id)?;
        let detail =
            serde_json::json!({ "code_id": id.0, "from": from, "job": job.0, "reason": reason });
        audit::append(&tx, at, actor, "code.reprint", &ident, &detail.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Supervisor: a manual scan shows the sticker is applied and correct.
    pub fn confirm_applied(
        &mut self,
        id: CodeId,
        scan: &ScanProof<'_>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let from = apply(&tx, id, Move::ConfirmApplied, actor, None, None, at)?;
        record_match(&tx, &self.station, id, None, scan, at)?;
        let ident = code_ident(&tx, id)?;
        let detail = serde_json::json!({ "code_id": id.0, "from": from });
        audit::append(
            &tx,
            at,
            actor,
            "code.confirm_applied",
            &ident,
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Supervisor: withdraw a spoiled code; the write-off is queued for the registry.
    pub fn write_off(&mut self, id: CodeId, reason: &str, actor: &Actor) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let from = apply(&tx, id, Move::WriteOff, actor, None, Some(reason), at)?;
        tx.execute(
            "INSERT INTO outbox (kind, code_id, created_at) VALUES ('WRITE_OFF', ?1, ?2)",
            params![id.0, at],
        )?;
        let ident = code_ident(&tx, id)?;
        let detail = serde_json::json!({ "code_id": id.0, "from": from, "reason": reason });
        audit::append(
            &tx,
            at,
            actor,
            "code.write_off",
            &ident,
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }
}

fn finish_attempt(
    tx: &Transaction<'_>,
    id: CodeId,
    at: i64,
    outcome: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE print_attempts SET finished_at = ?2, outcome = ?3 WHERE code_id = ?1 AND finished_at IS NULL",
        params![id.0, at, outcome],
    )?;
    Ok(())
}

/// The scan row and the registry outbox row that a verification owes, in the caller's transaction.
fn record_match(
    tx: &Transaction<'_>,
    station: &str,
    id: CodeId,
    job: Option<JobId>,
    scan: &ScanProof<'_>,
    at: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO scans (at, station, raw, aim, verdict, code_id, job_id) VALUES (?1, ?2, ?3, ?4, 'MATCH', ?5, ?6)",
        params![at, station, scan.raw, scan.aim, id.0, job.map(|j| j.0)],
    )?;
    tx.execute(
        "INSERT INTO outbox (kind, code_id, created_at) VALUES ('UTILISATION', ?1, ?2)",
        params![id.0, at],
    )?;
    Ok(())
}

/// Why a code in flight lost its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended<'a> {
    /// The station process stopped (start-up recovery found it).
    StationStopped,
    /// Its job was closed while it was still in flight.
    JobClosed,
    /// The run ended on this error (in English) mid-label (`Ledger::halt_job`).
    Error(&'a str),
}

impl Ended<'_> {
    /// The review reason (English) for a code found in `state`.
    fn reason(self, state: CodeState) -> String {
        let what = match self {
            Ended::StationStopped => "the station stopped",
            Ended::JobClosed => "the run ended",
            Ended::Error(_) => "the line stopped on an error",
        };
        match self {
            Ended::Error(e) => format!(
                "{what} while this code was {state} ({e}): check whether its sticker was printed or applied"
            ),
            _ => format!(
                "{what} while this code was {state}: check whether its sticker was printed or applied"
            ),
        }
    }

    /// Why a reservation never sent went back to the pool.
    const fn released(self) -> &'static str {
        match self {
            Ended::StationStopped => "the station stopped before this code was sent to a printer",
            Ended::JobClosed | Ended::Error(_) => {
                "the run ended before this code was sent to a printer"
            }
        }
    }

    /// The review reason's key (the engine's `words::REASON_KEYS`) and its values.
    fn key(self, state: CodeState) -> (&'static str, Vec<String>) {
        let state = state.as_str().to_owned();
        match self {
            Ended::StationStopped => ("station-stopped", vec![state]),
            Ended::JobClosed => ("run-ended", vec![state]),
            Ended::Error(e) => ("line-error", vec![state, e.to_owned()]),
        }
    }
}

/// What becomes of a code in flight whose job ended (start-up recovery, a closed or a halted job): the
/// one rule, also shown by `Ledger::pending_recovery` before it is applied.
pub(super) fn next_start(
    conn: &Connection,
    id: CodeId,
    state: CodeState,
    mode: JobMode,
) -> Result<NextStart, StoreError> {
    Ok(if state == CodeState::Printed && mode.printed_may_wait() {
        NextStart::WaitsForScan
    } else if state == CodeState::Reserved && !ever_sent(conn, id)? {
        // `mark_sent` is recorded before the first byte, so a RESERVED code never sent to a printer has
        // no sticker anywhere (the line reserves the next label ahead).
        NextStart::ToPool
    } else {
        NextStart::ToReview
    })
}

/// Settle one code in flight whose job ended as `next` says, in the caller's transaction.
pub(super) fn settle_in_flight(
    tx: &Transaction<'_>,
    id: CodeId,
    state: CodeState,
    next: NextStart,
    why: Ended<'_>,
    actor: &Actor,
    at: i64,
) -> Result<(), StoreError> {
    match next {
        NextStart::WaitsForScan => {}
        NextStart::ToPool => {
            apply(tx, id, Move::Release, actor, None, Some(why.released()), at)?;
        }
        NextStart::ToReview => {
            apply(
                tx,
                id,
                Move::Recover,
                actor,
                None,
                Some(&why.reason(state)),
                at,
            )?;
            let (key, values) = why.key(state);
            set_reason_key(tx, id, key, &values)?;
            finish_attempt(tx, id, at, "INTERRUPTED")?;
        }
    }
    Ok(())
}

/// Key the reason [`apply`] just wrote (it clears the key with every move).
pub(super) fn set_reason_key(
    tx: &Transaction<'_>,
    id: CodeId,
    key: &str,
    args: &[String],
) -> Result<(), StoreError> {
    let args = serde_json::to_string(args).map_err(|e| StoreError::Corrupt {
        path: PathBuf::from("ledger"),
        detail: format!("reason values: {e}"),
    })?;
    tx.execute(
        "UPDATE codes SET reason_key = ?2, reason_args = ?3 WHERE id = ?1",
        params![id.0, key, args],
    )?;
    Ok(())
}

/// The one place where a code changes state. Checks the move against [`state::TRANSITIONS`], the actor's
/// role, and the job that holds the code; writes the new state and the event row. Returns the old state.
pub(super) fn apply(
    tx: &Transaction<'_>,
    id: CodeId,
    mv: Move,
    actor: &Actor,
    job: Option<JobId>,
    reason: Option<&str>,
    at: i64,
) -> Result<CodeState, StoreError> {
    if mv.needs_supervisor() && actor.role != Role::Supervisor {
        return Err(StoreError::NeedsSupervisor {
            mv: mv.as_str(),
            actor: actor.name.clone(),
            role: actor.role.as_str(),
        });
    }
    let (state, held_by, verified_at): (String, Option<i64>, Option<i64>) = tx
        .query_row(
            "SELECT state, job_id, verified_at FROM codes WHERE id = ?1",
            [id.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or(StoreError::NoSuchCode(id.0))?;
    let from: CodeState = state
        .parse()
        .map_err(|e: state::UnknownState| StoreError::Corrupt {
            path: PathBuf::from("ledger"),
            detail: e.to_string(),
        })?;
    let verified = verified_at.is_some();
    let Some(to) = state::target(mv, from, verified) else {
        // The state fits but the code's verification does not: say which rule refused it.
        if state::target(mv, from, !verified).is_some() {
            return Err(match (mv, verified) {
                (Move::Reprint, true) => StoreError::VerifiedNotReprinted { id: id.0 },
                (Move::Verify | Move::ConfirmApplied, true) => StoreError::AlreadyVerified(id.0),
                _ => StoreError::IllegalMove {
                    id: id.0,
                    state: from,
                    mv: mv.as_str(),
                    expected: if verified {
                        format!("{from} and never verified")
                    } else {
                        format!("{from} and verified before")
                    },
                },
            });
        }
        let expected = state::sources(mv)
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(StoreError::IllegalMove {
            id: id.0,
            state: from,
            mv: mv.as_str(),
            expected,
        });
    };
    if let (Some(held), Some(j)) = (held_by, job)
        && held != j.0
        && mv != Move::Recover
    {
        return Err(StoreError::WrongJob {
            id: id.0,
            held_by: held,
            job: j.0,
        });
    }
    let new_job = if to.is_in_flight() {
        match (held_by, job) {
            (Some(h), _) if from.is_in_flight() => Some(h),
            (_, Some(j)) => {
                let (_, _, closed) = job_row(tx, j)?;
                if closed {
                    return Err(StoreError::JobClosed(j.0));
                }
                Some(j.0)
            }
            (_, None) => return Err(StoreError::JobRequired { mv: mv.as_str() }),
        }
    } else {
        None
    };
    let keep_reason = matches!(
        to,
        CodeState::Rejected | CodeState::NeedsReview | CodeState::WrittenOff
    );
    tx.execute(
        "UPDATE codes SET state = ?2, job_id = ?3, state_at = ?4, reason = ?5,
             reason_key = NULL, reason_args = NULL,
             verified_at = CASE WHEN ?2 = 'VERIFIED' AND verified_at IS NULL THEN ?4 ELSE verified_at END
         WHERE id = ?1",
        params![
            id.0,
            to.as_str(),
            new_job,
            at,
            if keep_reason { reason } else { None }
        ],
    )?;
    tx.execute(
        "INSERT INTO code_events (code_id, at, move, from_state, to_state, job_id, actor, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id.0,
            at,
            mv.as_str(),
            from.as_str(),
            to.as_str(),
            job.map(|j| j.0).or(held_by),
            actor.name,
            reason
        ],
    )?;
    Ok(from)
}
