//! The `.traineddata` container (Tesseract's `TessdataManager`): a table of component offsets,
//! then the components back to back.

use crate::bytes::Bytes;
use crate::error::ReadError;

/// Component indices in the offset table, as Tesseract numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Component {
    Config = 0,
    /// The legacy engine's templates: their presence without `Lstm` marks a legacy-only file.
    LegacyTemplates = 3,
    Lstm = 17,
    LstmUnicharset = 21,
    LstmRecoder = 22,
    /// The version string of the training tools that wrote the file.
    Version = 23,
}

/// What `Container::lstm_only` keeps: the components this reader uses, and the version string.
const READER_COMPONENTS: [Component; 5] =
    [Component::Config, Component::Lstm, Component::LstmUnicharset, Component::LstmRecoder, Component::Version];

impl Component {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Component::Config => "config",
            Component::LegacyTemplates => "inttemp",
            Component::Lstm => "lstm",
            Component::LstmUnicharset => "lstm-unicharset",
            Component::LstmRecoder => "lstm-recoder",
            Component::Version => "version",
        }
    }
}

/// Tesseract 4 and 5 write 24 entries; a count beyond this is a byte-swapped (big-endian) file or
/// garbage, both of which are refused.
const MAX_ENTRIES: usize = 64;

/// The components' byte ranges within one file.
pub(crate) struct Container<'a> {
    data: &'a [u8],
    /// `ranges[i]`: start and end of component `i`, if present.
    ranges: Vec<Option<(usize, usize)>>,
}

impl<'a> Container<'a> {
    pub(crate) fn parse(data: &'a [u8]) -> Result<Container<'a>, ReadError> {
        let mut header = Bytes::new(data, 0);
        let count = header.u32("the number of components")? as usize;
        if count == 0 || count > MAX_ENTRIES {
            return Err(ReadError::Damaged(format!(
                "it claims {count} components (Tesseract writes 24); it is not a little-endian .traineddata"
            )));
        }
        let mut offsets = Vec::with_capacity(count);
        for _ in 0..count {
            offsets.push(header.i64("the component offsets")?);
        }
        let table_end = 4 + 8 * count;
        let mut present: Vec<(usize, usize)> = Vec::new();
        for (index, &offset) in offsets.iter().enumerate() {
            match offset {
                -1 => {}
                offset if offset >= table_end as i64 && offset <= data.len() as i64 => {
                    if let Some(&(_, previous)) = present.last()
                        && offsets[previous] > offset
                    {
                        return Err(ReadError::Damaged(format!(
                            "component {index} starts before component {previous}"
                        )));
                    }
                    present.push((offset as usize, index));
                }
                offset if offset > data.len() as i64 => {
                    return Err(ReadError::Truncated {
                        what: "a component the offset table lists",
                        offset: data.len(),
                    });
                }
                offset => return Err(ReadError::Damaged(format!("component {index} has offset {offset}"))),
            }
        }
        // Each component runs to the next present one; the last runs to the end of the file.
        let mut ranges = vec![None; count];
        for (position, &(start, index)) in present.iter().enumerate() {
            let end = present.get(position + 1).map_or(data.len(), |&(next, _)| next);
            ranges[index] = Some((start, end));
        }
        Ok(Container { data, ranges })
    }

    /// The component's bytes and their offset in the file, if it is present and not empty.
    pub(crate) fn component(&self, component: Component) -> Option<(&'a [u8], usize)> {
        let (start, end) = (*self.ranges.get(component as usize)?)?;
        (end > start).then(|| (&self.data[start..end], start))
    }

    /// The component's bytes, or the error naming what is missing (and whether the file is a
    /// legacy-only model).
    pub(crate) fn required(&self, component: Component) -> Result<Bytes<'a>, ReadError> {
        match self.component(component) {
            Some((bytes, offset)) => Ok(Bytes::new(bytes, offset)),
            None if component == Component::Lstm && self.component(Component::LegacyTemplates).is_some() => {
                Err(ReadError::LegacyOnly)
            }
            None => Err(ReadError::MissingComponent(component.name())),
        }
    }

    /// The file again with only `READER_COMPONENTS`, in Tesseract's layout (the same entry count,
    /// -1 for each component left out): a `.traineddata` Tesseract itself reads, with no
    /// dictionaries. Refuses a file without an LSTM network.
    pub(crate) fn lstm_only(&self) -> Result<Vec<u8>, ReadError> {
        self.required(Component::Lstm)?;
        let count = self.ranges.len();
        let table_end = 4 + 8 * count;
        let mut offsets = vec![-1i64; count];
        let mut body = Vec::new();
        for component in READER_COMPONENTS {
            if let Some((bytes, _)) = self.component(component) {
                offsets[component as usize] = (table_end + body.len()) as i64;
                body.extend_from_slice(bytes);
            }
        }
        let mut file = Vec::with_capacity(table_end + body.len());
        file.extend_from_slice(&(count as u32).to_le_bytes());
        for offset in offsets {
            file.extend_from_slice(&offset.to_le_bytes());
        }
        file.extend(body);
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A container with components at the given indices, each holding its bytes.
    pub(crate) fn container_bytes(components: &[(usize, &[u8])]) -> Vec<u8> {
        let count = 24;
        let mut offsets = vec![-1i64; count];
        let mut body = Vec::new();
        let table_end = 4 + 8 * count;
        for (index, bytes) in components {
            offsets[*index] = (table_end + body.len()) as i64;
            body.extend_from_slice(bytes);
        }
        let mut file = (count as u32).to_le_bytes().to_vec();
        for offset in offsets {
            file.extend_from_slice(&offset.to_le_bytes());
        }
        file.extend(body);
        file
    }

    #[test]
    fn components_run_to_the_next_present_one() {
        let file = container_bytes(&[(0, b"cfg"), (17, b"net"), (21, b"chars")]);
        let container = Container::parse(&file).unwrap();
        assert_eq!(container.component(Component::Lstm).unwrap().0, b"net");
        assert_eq!(container.component(Component::LstmUnicharset).unwrap().0, b"chars");
        assert!(container.component(Component::LstmRecoder).is_none());
        assert_eq!(container.required(Component::LstmRecoder).err(), Some(ReadError::MissingComponent("lstm-recoder")));
    }

    #[test]
    fn lstm_only_keeps_the_reader_s_components_in_tesseract_s_layout() {
        let file = container_bytes(&[
            (0, b"cfg"),
            (7, b"word dawg"),
            (17, b"net"),
            (19, b"lstm dawg"),
            (21, b"chars"),
            (22, b"codes"),
            (23, b"4.1"),
        ]);
        let kept = Container::parse(&file).unwrap().lstm_only().unwrap();
        assert_eq!(kept, container_bytes(&[(0, b"cfg"), (17, b"net"), (21, b"chars"), (22, b"codes"), (23, b"4.1")]));
        let legacy = container_bytes(&[(1, b"unicharset"), (3, b"templates")]);
        assert_eq!(Container::parse(&legacy).unwrap().lstm_only().err(), Some(ReadError::LegacyOnly));
    }

    #[test]
    fn a_legacy_only_file_is_named_as_such() {
        let file = container_bytes(&[(1, b"unicharset"), (3, b"templates")]);
        let container = Container::parse(&file).unwrap();
        assert_eq!(container.required(Component::Lstm).err(), Some(ReadError::LegacyOnly));
    }

    #[test]
    fn truncated_and_foreign_files_are_refused() {
        let file = container_bytes(&[(17, b"network")]);
        assert!(matches!(Container::parse(&file[..100]), Err(ReadError::Truncated { .. })));
        assert!(matches!(Container::parse(&file[..file.len() - 8]).map(|_| ()), Err(ReadError::Truncated { .. })));
        let big_endian = [&24u32.to_be_bytes()[..], &[0; 192]].concat();
        assert!(matches!(Container::parse(&big_endian).map(|_| ()), Err(ReadError::Damaged(_))));
    }
}
