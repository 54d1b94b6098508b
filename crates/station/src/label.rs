// SPDX-License-Identifier: GPL-3.0-or-later
//! Building a code's label: the ZPL sent to the printer (a full label, or the product's stored format
//! and a recall of it) and the preview the screens show.

use super::*;

impl Station {
    /// The label bytes for a code (with the stored format first when the printer needs it).
    pub(super) fn label_bytes(
        &self,
        product: &Product,
        rec: &CodeRecord,
    ) -> Result<Vec<u8>, EngineError> {
        product.with_label_data(&rec.code, |data| self.label_zpl(data))
    }

    pub(super) fn label_zpl(&self, data: &LabelData<'_>) -> Result<Vec<u8>, EngineError> {
        let label_err = |e: labelstation_zpl::write::WriteError| EngineError::Label(e.to_string());
        match self.line.label_mode {
            LabelMode::Full => Ok(labelstation_zpl::write::full_label(&self.template, data)
                .map_err(label_err)?
                .into_bytes()),
            LabelMode::Stored => {
                let mut out = String::new();
                if self.stored_for.as_deref() != Some(data.gtin_text) {
                    let text = ProductText {
                        name: data.name,
                        size: data.size,
                        gtin_text: data.gtin_text,
                    };
                    out.push_str(
                        &labelstation_zpl::write::stored_product_format(&self.template, &text)
                            .map_err(label_err)?,
                    );
                }
                out.push_str(
                    &labelstation_zpl::write::recall_code(
                        &self.template,
                        data.code,
                        data.serial_text,
                    )
                    .map_err(label_err)?,
                );
                Ok(out.into_bytes())
            }
        }
    }

    pub(super) fn preview(
        &self,
        product: &Product,
        rec: &CodeRecord,
    ) -> Option<Arc<labelstation_zpl::render::Bitmap>> {
        if !self.previews {
            return None;
        }
        product
            .with_label_data(&rec.code, |data| {
                labelstation_zpl::preview(&self.template, data)
            })
            .ok()
            .map(Arc::new)
    }
}
