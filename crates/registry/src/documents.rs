// SPDX-License-Identifier: GPL-3.0-or-later
//! The xTrace document storage (`/public/api/v1/doc/*`), in one place: sending a document, its
//! processing status and errors, finding documents by type and time, and reading one back as it was
//! stored. The withdrawal (write-off) uses it today; import and aggregation documents are to use it too.
//!
//! A document is processed as a whole some time after it is sent (CREATED → VALIDATING → IN_PROCESS →
//! SUCCESS | PARTIALLY_PROCESSED | ERROR). When the answer to a POST is lost, its id is unknown: the
//! search by type and creation time, then reading each candidate back, finds it again by its codes
//! (shared research, registry API section 3; the layout of a stored document is not documented, so it
//! is read leniently: the envelope with its base64 body, or the body itself).

use std::time::{Duration, SystemTime};

use reqwest::Method;
use serde::Serialize;

use super::client::{DocumentOutcome, Refusal, RegistryError, ReportOutcome, XtraceClient, decode};
use super::wire::IdentMatcher;
use super::xtrace;

/// A document type as the storage names it (search filter and `type` of each found document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentType {
    /// Withdrawal from circulation, including write-off (`withdrawalType = WRITE_OFF`).
    Withdrawal,
    /// Import notice («Уведомление о ввозе»): goods into circulation under a customs declaration.
    Import,
    /// Aggregation: codes into boxes (and boxes onto pallets) under their SSCC.
    Aggregation,
    /// Transport-code disaggregation: boxes or pallets unpacked.
    Disaggregation,
    /// An application report: not sent as a document, but listed by the search.
    Utilisation,
}

impl DocumentType {
    pub const fn as_str(self) -> &'static str {
        match self {
            DocumentType::Withdrawal => "WITHDRAWAL",
            DocumentType::Import => "IMPORT",
            DocumentType::Aggregation => "AGGREGATION",
            DocumentType::Disaggregation => "TRANSPORT_CODE_DISAGGREGATION",
            DocumentType::Utilisation => "UTILISATION",
        }
    }

    /// The path a document of this type is sent to, if it is sent as a document.
    const fn send_path(self) -> Option<&'static str> {
        match self {
            DocumentType::Withdrawal => Some("/public/api/v1/doc/withdrawal"),
            DocumentType::Import => Some("/public/api/v1/doc/import"),
            DocumentType::Aggregation => Some("/public/api/v1/doc/aggregation"),
            DocumentType::Disaggregation => {
                Some("/public/api/v1/doc/transport-code-disaggregation")
            }
            DocumentType::Utilisation => None,
        }
    }
}

/// A document the search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDocument {
    pub id: String,
    pub status: xtrace::DocumentStatus,
}

/// The most candidates read back when looking for one lost document (the rest are not ours: the search
/// window is minutes wide around the moment it was sent).
const MAX_CANDIDATES: usize = 50;

impl XtraceClient {
    /// Send a document of type `doc_type` (its body is base64-wrapped with keys sorted A–Z). Returns its
    /// id. Sent once: a lost or unreadable answer means the document may exist
    /// ([`RegistryError::maybe_committed`]).
    pub fn send_document<T: Serialize>(
        &mut self,
        doc_type: DocumentType,
        body: &T,
    ) -> Result<String, RegistryError> {
        let Some(path) = doc_type.send_path() else {
            return Err(RegistryError::Config(format!(
                "{} is not sent as a document",
                doc_type.as_str()
            )));
        };
        let envelope = xtrace::DocumentEnvelope {
            document_body: xtrace::encode_document(body)
                .map_err(|e| RegistryError::Config(e.to_string()))?,
            // Reserved by the registry and not sent (shared research, section 3).
            signature: None,
        };
        let json =
            serde_json::to_value(&envelope).map_err(|e| RegistryError::Config(e.to_string()))?;
        let answer = self.call(Method::POST, path, &[], Some(&json))?;
        super::client::decode_change::<xtrace::DocumentCreated>(doc_type.as_str(), &answer)
            .map(|d| d.document_id)
    }

    /// Where a document stands as a report: a write-off is processed as a whole, so a partial result is
    /// a refusal whose errors name the codes at fault, and the others are sent again on their own.
    pub fn document_outcome(&mut self, id: &str) -> Result<ReportOutcome, RegistryError> {
        Ok(match self.document_result(id)? {
            DocumentOutcome::Success => ReportOutcome::Accepted,
            DocumentOutcome::Partial(r) | DocumentOutcome::Error(r) => ReportOutcome::Rejected(r),
            DocumentOutcome::InProcess => ReportOutcome::InProcess,
            DocumentOutcome::NotFound => ReportOutcome::NotFound,
        })
    }

    /// Where a document stands, with its errors (codes named by index) once processed.
    pub fn document_result(&mut self, id: &str) -> Result<DocumentOutcome, RegistryError> {
        let path = format!("/public/api/v1/doc/storage/docs/{id}");
        let answer = match self.call(Method::GET, &path, &[], None) {
            Err(RegistryError::Api { error, .. })
                if error.class() == super::wire::ErrorClass::NotFound =>
            {
                return Ok(DocumentOutcome::NotFound);
            }
            other => other?,
        };
        let info: xtrace::DocumentInfo = decode("document status", &answer)?;
        Ok(match info.status {
            xtrace::DocumentStatus::Success => DocumentOutcome::Success,
            xtrace::DocumentStatus::PartiallyProcessed => {
                DocumentOutcome::Partial(self.document_refusal(id))
            }
            xtrace::DocumentStatus::Error => DocumentOutcome::Error(self.document_refusal(id)),
            xtrace::DocumentStatus::Created
            | xtrace::DocumentStatus::Validating
            | xtrace::DocumentStatus::InProcess
            | xtrace::DocumentStatus::Unknown => DocumentOutcome::InProcess,
        })
    }

    /// A refused document's errors: a line for the supervisor, and the positions of the codes named.
    fn document_refusal(&mut self, id: &str) -> Refusal {
        let path = format!("/public/api/v1/doc/storage/errors/{id}");
        match self
            .call(Method::GET, &path, &[], None)
            .and_then(|b| decode::<xtrace::DocumentErrors>("document errors", &b))
        {
            Ok(errors) => Refusal {
                reason: crate::codes::clean_message(&errors.summary()),
                named: errors.code_indices(),
            },
            Err(e) => Refusal {
                reason: crate::codes::clean_message(&format!(
                    "the registry refused the document (details unavailable: {e})"
                )),
                named: Vec::new(),
            },
        }
    }

    /// Documents of `doc_type` created between `from` and `to`, oldest first, page by page. A storage
    /// without the search (404) or an account without the right to it (403) finds nothing.
    pub fn search_documents(
        &mut self,
        doc_type: DocumentType,
        from: SystemTime,
        to: SystemTime,
    ) -> Result<Vec<FoundDocument>, RegistryError> {
        const PAGE: usize = 100;
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = vec![
                ("types", doc_type.as_str().to_owned()),
                ("dateFrom", iso(from)),
                ("dateTo", iso(to)),
                ("limit", PAGE.to_string()),
            ];
            if let Some(c) = &cursor {
                q.push(("cursor", c.clone()));
            }
            let answer = match self.call(
                Method::GET,
                "/public/api/v1/doc/storage/docs/search",
                &q,
                None,
            ) {
                Err(RegistryError::Api { error, .. })
                    if matches!(
                        error.class(),
                        super::wire::ErrorClass::NotFound | super::wire::ErrorClass::Forbidden
                    ) =>
                {
                    tracing::warn!("registry: the document search is not available ({error})");
                    return Ok(out);
                }
                other => other?,
            };
            let page: xtrace::DocumentSearch = decode("document search", &answer)?;
            let n = page.document_infos.len();
            cursor = page.document_infos.last().map(|d| d.document_id.clone());
            out.extend(
                page.document_infos
                    .into_iter()
                    // The type may come decorated ("WITHDRAWAL ( )" in the registry's own example).
                    .filter(|d| {
                        d.doc_type
                            .as_deref()
                            .is_none_or(|t| t.starts_with(doc_type.as_str()))
                    })
                    .map(|d| FoundDocument {
                        id: d.document_id,
                        status: d.status,
                    }),
            );
            if n < PAGE || out.len() >= 10 * PAGE {
                return Ok(out);
            }
        }
    }

    /// The codes a stored document (or application report) carries, as identification codes or full
    /// codes, read from `GET /public/api/v1/doc/storage/json/{id}`.
    pub fn document_codes(&mut self, id: &str) -> Result<Vec<String>, RegistryError> {
        let path = format!("/public/api/v1/doc/storage/json/{id}");
        let answer = self.call(Method::GET, &path, &[], None)?;
        let v: serde_json::Value = decode("stored document", &answer)?;
        Ok(xtrace::stored_document_codes(&v))
    }

    /// The document of `doc_type` sent in the window that carries exactly `codes`, if the storage has it.
    pub fn find_document(
        &mut self,
        doc_type: DocumentType,
        codes: &[String],
        window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError> {
        let found = self.search_documents(doc_type, window.0, window.1)?;
        let ours = IdentMatcher::new(codes.iter().map(String::as_str));
        let mut newest = None;
        // The newest candidates first: the search answers oldest first, and the window is wide.
        let skip = found.len().saturating_sub(MAX_CANDIDATES);
        for doc in found.into_iter().skip(skip) {
            let theirs = match self.document_codes(&doc.id) {
                Ok(c) => c,
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    tracing::debug!("registry: document {} cannot be read back: {e}", doc.id);
                    continue;
                }
            };
            // The same codes, each once: the document is ours.
            let mut seen = vec![false; codes.len()];
            let all_ours = theirs.len() == codes.len()
                && theirs.iter().all(|c| match ours.find(c) {
                    Some(i) if !seen[i] => {
                        seen[i] = true;
                        true
                    }
                    _ => false,
                });
            // The newest one that matches: an older document with the same codes is one the registry
            // refused before they were sent again.
            if all_ours {
                newest = Some(doc.id);
            }
        }
        Ok(newest)
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as the storage's date filters take it.
pub(crate) fn iso(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// How far before the moment a lost document was sent the search looks (clocks differ).
pub const SEARCH_SLACK: Duration = Duration::from_secs(300);
