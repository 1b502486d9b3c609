//! Reading manifest text into located resources.
//!
//! Each document is read twice: once for its envelope (to learn the kind), then as
//! that kind. Documents are split on `---` lines ourselves so that the second pass
//! sees one document and locations can be shifted back to file lines: YAML forbids
//! a `---` at column 0 inside a document, so the split is exact.

use serde::de::DeserializeOwned;
use serde_saphyr::{Budget, Options, Spanned};

use crate::wire::ChecklistTemplateDoc;
use crate::wire::{
    BlackoutDoc, ComponentDoc, DependencyDoc, Document as Doc, Envelope, EnvironmentDoc,
    IntegrationTaskDoc, ItemDoc, ReleaseDoc, ReleaseTrainDoc, RiskDoc, SubscriptionDoc, TeamDoc,
};
use crate::{API_VERSION, Location, ManifestError, ManifestErrors};

/// One manifest file's text and the name to report it by.
#[derive(Clone, Debug)]
pub struct Source {
    /// Path as the user gave it; only used in messages.
    pub name: String,
    /// The YAML text.
    pub text: String,
}

/// Bounds on hostile or accidental input.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_file_bytes: usize,
    /// Most documents accepted across all files.
    pub max_documents: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 64 * 1024 * 1024,
            max_documents: 200_000,
        }
    }
}

/// A parsed resource with where it was declared.
#[allow(missing_docs, private_interfaces)]
pub enum Resource {
    Team {
        name: Spanned<String>,
        labels: lockstep_core::Labels,
        spec: TeamDoc,
        /// Read from a Backstage catalog, which says less than a Lockstep team holds.
        catalog: Option<crate::backstage::Unsaid>,
    },
    Component {
        name: Spanned<String>,
        labels: lockstep_core::Labels,
        spec: ComponentDoc,
        /// Read from a Backstage catalog: what it leaves out is kept from the component.
        catalog: bool,
    },
    Environment {
        name: Spanned<String>,
        labels: lockstep_core::Labels,
        spec: EnvironmentDoc,
    },
    Blackout {
        name: Spanned<String>,
        labels: lockstep_core::Labels,
        spec: BlackoutDoc,
    },
    Resource {
        name: Spanned<String>,
        labels: lockstep_core::Labels,
        spec: lockstep_core::ResourceSpec,
    },
    Release {
        name: Spanned<String>,
        labels: lockstep_core::Labels,
        spec: ReleaseDoc,
    },
    ReleaseTrain {
        name: Spanned<String>,
        labels: lockstep_core::Labels,
        spec: Box<ReleaseTrainDoc>,
    },
    Item {
        name: Spanned<String>,
        spec: ItemDoc,
    },
    Dependency {
        name: Spanned<String>,
        spec: DependencyDoc,
    },
    IntegrationTask {
        name: Spanned<String>,
        spec: IntegrationTaskDoc,
    },
    Subscription {
        name: Spanned<String>,
        spec: SubscriptionDoc,
    },
    ChecklistTemplate {
        name: Spanned<String>,
        spec: ChecklistTemplateDoc,
    },
    Risk {
        name: Spanned<String>,
        labels: lockstep_core::Labels,
        spec: RiskDoc,
    },
    Interface {
        name: Spanned<String>,
        labels: lockstep_core::Labels,
        spec: crate::wire::InterfaceDoc,
        /// Read from a Backstage catalog, which declares no versions.
        catalog: bool,
    },
}

impl std::fmt::Debug for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, name) = self.kind_and_name();
        write!(f, "{kind}/{}", name.value)
    }
}

impl Resource {
    pub(crate) fn kind_and_name(&self) -> (&'static str, &Spanned<String>) {
        match self {
            Resource::Team { name, .. } => ("Team", name),
            Resource::Component { name, .. } => ("Component", name),
            Resource::Environment { name, .. } => ("Environment", name),
            Resource::Blackout { name, .. } => ("Blackout", name),
            Resource::Resource { name, .. } => ("Resource", name),
            Resource::Release { name, .. } => ("Release", name),
            Resource::ReleaseTrain { name, .. } => ("ReleaseTrain", name),
            Resource::Item { name, .. } => ("Item", name),
            Resource::Dependency { name, .. } => ("Dependency", name),
            Resource::IntegrationTask { name, .. } => ("IntegrationTask", name),
            Resource::Subscription { name, .. } => ("Subscription", name),
            Resource::ChecklistTemplate { name, .. } => ("ChecklistTemplate", name),
            Resource::Risk { name, .. } => ("Risk", name),
            Resource::Interface { name, .. } => ("Interface", name),
        }
    }
}

/// A resource and the file it came from.
#[derive(Debug)]
pub(crate) struct Located {
    pub file: usize,
    /// Added to every line the parser reports: where the document starts.
    pub line_offset: u64,
    pub resource: Resource,
}

/// Parsed manifests.
#[derive(Debug)]
pub struct Manifest {
    pub(crate) files: Vec<String>,
    pub(crate) resources: Vec<Located>,
    pub(crate) notes: Vec<ManifestError>,
}

impl Manifest {
    /// How many resources (documents) were read.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether no resource was read.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// What was read but not applied, and why: the Backstage entities Lockstep has no
    /// counterpart for, and the defaults it chose for the others. Not errors.
    pub fn notes(&self) -> &[ManifestError] {
        &self.notes
    }

    pub(crate) fn location(&self, resource: &Located, at: &serde_saphyr::Location) -> Location {
        location(&self.files[resource.file], resource.line_offset, at)
    }
}

pub(crate) fn location(file: &str, line_offset: u64, at: &serde_saphyr::Location) -> Location {
    if *at == serde_saphyr::Location::UNKNOWN {
        return Location {
            file: file.to_owned(),
            line: line_offset + 1,
            column: 1,
        };
    }
    Location {
        file: file.to_owned(),
        line: line_offset + at.line(),
        column: at.column(),
    }
}

/// The kinds this build reads, for "did you mean".
// A slice, not an array: kinds are added on several branches at once.
const KINDS: &[&str] = &[
    "Team",
    "Component",
    "Environment",
    "Blackout",
    "Resource",
    "Release",
    "ReleaseTrain",
    "Item",
    "Dependency",
    "IntegrationTask",
    "Subscription",
    "ChecklistTemplate",
    "Risk",
    "Interface",
];

/// Parses every document of every source. Collects all errors; any error means
/// the manifests as a whole are rejected.
pub fn parse(sources: &[Source], limits: Limits) -> Result<Manifest, ManifestErrors> {
    let mut manifest = Manifest {
        files: Vec::new(),
        resources: Vec::new(),
        notes: Vec::new(),
    };
    let mut errors = Vec::new();
    let mut catalog = Vec::new();
    for (file_index, source) in sources.iter().enumerate() {
        manifest.files.push(source.name.clone());
        if source.text.len() > limits.max_file_bytes {
            errors.push(ManifestError {
                location: Location {
                    file: source.name.clone(),
                    line: 1,
                    column: 1,
                },
                message: format!(
                    "file is {} bytes; the limit is {} bytes",
                    source.text.len(),
                    limits.max_file_bytes
                ),
            });
            continue;
        }
        for (line_offset, text) in split_documents(&source.text) {
            if manifest.resources.len() >= limits.max_documents {
                errors.push(ManifestError {
                    location: Location {
                        file: source.name.clone(),
                        line: line_offset + 1,
                        column: 1,
                    },
                    message: format!("more than {} documents", limits.max_documents),
                });
                return Err(ManifestErrors(errors));
            }
            match parse_document(text, file_index, line_offset) {
                Ok(Document::Lockstep(resource)) => manifest.resources.push(Located {
                    file: file_index,
                    line_offset,
                    resource,
                }),
                Ok(Document::Backstage(entity)) => catalog.push(entity),
                Err((at, message)) => errors.push(ManifestError {
                    location: location(&source.name, line_offset, &at),
                    message,
                }),
            }
        }
    }
    if !catalog.is_empty() {
        let resolved = crate::backstage::resolve(catalog, &manifest.files);
        manifest.resources.extend(resolved.resources);
        manifest.notes = resolved.notes;
        errors.extend(resolved.errors);
    }
    if errors.is_empty() {
        Ok(manifest)
    } else {
        errors.sort_by(|a, b| a.location.cmp(&b.location));
        Err(ManifestErrors(errors))
    }
}

/// A document in Lockstep's own format, or an entity of a Backstage catalog, resolved
/// once every document is read (its users join groups declared anywhere).
// Transient, one per document read: boxing either side would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Document {
    Lockstep(Resource),
    Backstage(crate::backstage::Parsed),
}

/// Splits a multi-document stream into `(lines before the document, text)`,
/// skipping documents that hold only comments and blank lines.
fn split_documents(text: &str) -> Vec<(u64, &str)> {
    let mut documents = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 0u64;
    let mut offset = 0;
    for (line_number, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        let is_marker = |marker: &str| {
            trimmed == marker
                || trimmed
                    .strip_prefix(marker)
                    .is_some_and(|rest| rest.starts_with([' ', '\t']))
        };
        if is_marker("---") || is_marker("...") {
            documents.push((start_line, &text[start_byte..offset]));
            // The marker line opens the next chunk: YAML accepts a document that
            // starts with `---`, even with content after it on the same line.
            start_byte = offset;
            start_line = line_number as u64;
        }
        offset += line.len();
    }
    documents.push((start_line, &text[start_byte..]));
    documents
        .into_iter()
        .filter(|(_, doc)| {
            doc.lines().any(|l| {
                let l = l.trim();
                !l.is_empty() && !l.starts_with('#') && l != "---" && l != "..."
            })
        })
        .collect()
}

/// Most values (mappings, sequences and scalars, an alias's each time it repeats) one
/// document may hold.
const MAX_VALUES: usize = 1_000_000;

fn options() -> Options {
    // Nesting and aliases bounded: a "billion laughs" document fails fast instead
    // of eating memory. The crate's defaults already bound events and scalar bytes.
    let mut budget = Budget::default();
    budget.max_depth = 64;
    budget.max_aliases = 10_000;
    // A release of 20,000 inline items is about 200,000 values; a document past a
    // million is either generated far beyond reason or an alias bomb.
    budget.max_nodes = MAX_VALUES;
    let mut options = Options::default();
    options.budget = Some(budget);
    options
}

fn parse_document(
    text: &str,
    file: usize,
    line_offset: u64,
) -> Result<Document, (serde_saphyr::Location, String)> {
    let envelope: Envelope = from_yaml(text)?;
    if crate::backstage::API_VERSIONS.contains(&envelope.api_version.value.as_str()) {
        return crate::backstage::read(text, &envelope.kind, file, line_offset)
            .map(Document::Backstage);
    }
    if envelope.api_version.value != API_VERSION {
        return Err((
            envelope.api_version.referenced,
            format!(
                "apiVersion `{}` is not supported; use `{API_VERSION}` (or `{}` for a Backstage catalog)",
                envelope.api_version.value,
                crate::backstage::API_VERSIONS[0]
            ),
        ));
    }
    parse_lockstep(text, envelope).map(Document::Lockstep)
}

fn parse_lockstep(
    text: &str,
    envelope: Envelope,
) -> Result<Resource, (serde_saphyr::Location, String)> {
    let name_and = |doc: Doc<_>| (doc.metadata.name, doc.metadata.labels, doc.spec);
    Ok(match envelope.kind.value.as_str() {
        "Team" => {
            let (name, labels, spec) = name_and(from_yaml::<Doc<TeamDoc>>(text)?);
            Resource::Team {
                name,
                labels,
                spec,
                catalog: None,
            }
        }
        "Component" => {
            let doc = from_yaml::<Doc<ComponentDoc>>(text)?;
            Resource::Component {
                name: doc.metadata.name,
                labels: doc.metadata.labels,
                spec: doc.spec,
                catalog: false,
            }
        }
        "Environment" => {
            let doc = from_yaml::<Doc<EnvironmentDoc>>(text)?;
            Resource::Environment {
                name: doc.metadata.name,
                labels: doc.metadata.labels,
                spec: doc.spec,
            }
        }
        "Blackout" => {
            let doc = from_yaml::<Doc<BlackoutDoc>>(text)?;
            Resource::Blackout {
                name: doc.metadata.name,
                labels: doc.metadata.labels,
                spec: doc.spec,
            }
        }
        "Resource" => {
            let doc = from_yaml::<Doc<lockstep_core::ResourceSpec>>(text)?;
            Resource::Resource {
                name: doc.metadata.name,
                labels: doc.metadata.labels,
                spec: doc.spec,
            }
        }
        "Subscription" => {
            let doc = from_yaml::<Doc<SubscriptionDoc>>(text)?;
            Resource::Subscription {
                name: doc.metadata.name,
                spec: doc.spec,
            }
        }
        "Release" => {
            let doc = from_yaml::<Doc<ReleaseDoc>>(text)?;
            Resource::Release {
                name: doc.metadata.name,
                labels: doc.metadata.labels,
                spec: doc.spec,
            }
        }
        "ReleaseTrain" => {
            let doc = from_yaml::<Doc<ReleaseTrainDoc>>(text)?;
            Resource::ReleaseTrain {
                name: doc.metadata.name,
                labels: doc.metadata.labels,
                spec: Box::new(doc.spec),
            }
        }
        "Item" => {
            let doc = from_yaml::<Doc<ItemDoc>>(text)?;
            Resource::Item {
                name: doc.metadata.name,
                spec: doc.spec,
            }
        }
        "Dependency" => {
            let doc = from_yaml::<Doc<DependencyDoc>>(text)?;
            Resource::Dependency {
                name: doc.metadata.name,
                spec: doc.spec,
            }
        }
        "IntegrationTask" => {
            let doc = from_yaml::<Doc<IntegrationTaskDoc>>(text)?;
            Resource::IntegrationTask {
                name: doc.metadata.name,
                spec: doc.spec,
            }
        }
        "ChecklistTemplate" => {
            let doc = from_yaml::<Doc<ChecklistTemplateDoc>>(text)?;
            Resource::ChecklistTemplate {
                name: doc.metadata.name,
                spec: doc.spec,
            }
        }
        "Risk" => {
            let doc = from_yaml::<Doc<RiskDoc>>(text)?;
            Resource::Risk {
                name: doc.metadata.name,
                labels: doc.metadata.labels,
                spec: doc.spec,
            }
        }
        "Interface" => {
            let doc = from_yaml::<Doc<crate::wire::InterfaceDoc>>(text)?;
            Resource::Interface {
                name: doc.metadata.name,
                labels: doc.metadata.labels,
                spec: doc.spec,
                catalog: false,
            }
        }
        other => {
            let hint = lockstep_core::suggest::hint(other, KINDS.iter().copied());
            return Err((
                envelope.kind.referenced,
                format!(
                    "unknown kind `{other}`{hint}; known kinds: {}",
                    KINDS.join(", ")
                ),
            ));
        }
    })
}

pub(crate) fn from_yaml<T: DeserializeOwned>(
    text: &str,
) -> Result<T, (serde_saphyr::Location, String)> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|error| {
        let at = error.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
        let message = match error.without_snippet() {
            serde_saphyr::Error::InvalidScalar { ty, .. } => {
                invalid_number(ty, scalar_at(text, at))
            }
            // The parser's own wording tells the programmer which option to set; the person
            // writing the file most often joined two documents without `---`.
            serde_saphyr::Error::DuplicateMappingKey { key, .. } => Some(format!(
                "key `{}` appears twice in one document (documents are separated by a `---` line)",
                key.as_deref().unwrap_or("?")
            )),
            _ => None,
        };
        (at, message.unwrap_or_else(|| message_of(&error)))
    })
}

/// "invalid u32" says neither what was found nor what would do; for the integer fields
/// of manifests (days, counts, capacities) both are short to say.
fn invalid_number(ty: &str, found: Option<&str>) -> Option<String> {
    let range = match ty {
        "u8" => format!(" from 0 to {}", u8::MAX),
        "u16" => format!(" from 0 to {}", u16::MAX),
        "u32" => format!(" from 0 to {}", u32::MAX),
        "u64" | "usize" => " of 0 or more".to_owned(),
        "i32" => format!(" from {} to {}", i32::MIN, i32::MAX),
        "i64" | "isize" => String::new(),
        _ => return None,
    };
    let found = found.map(|f| format!(", found `{f}`")).unwrap_or_default();
    Some(format!("expected a whole number{range}{found}"))
}

/// The plain scalar starting at `at` (1-based line and column), up to the next flow
/// delimiter, comment or end of line.
fn scalar_at(text: &str, at: serde_saphyr::Location) -> Option<&str> {
    let line = text
        .lines()
        .nth(usize::try_from(at.line()).ok()?.checked_sub(1)?)?;
    let column = usize::try_from(at.column()).ok()?.checked_sub(1)?;
    let start = line.char_indices().nth(column).map(|(byte, _)| byte)?;
    let rest = &line[start..];
    let end = rest.find([',', '}', ']', '#']).unwrap_or(rest.len());
    let scalar = rest[..end].trim();
    (!scalar.is_empty()).then_some(scalar)
}

/// The parser's message without its source snippet and location prefix: we print
/// our own `file:line:column`.
fn message_of(error: &serde_saphyr::Error) -> String {
    let rendered = error.without_snippet().to_string();
    let first_line = rendered.lines().next().unwrap_or("invalid document").trim();
    // serde-saphyr appends " at line L, column C"; we report the location ourselves.
    let message = match first_line.rfind(" at line ") {
        Some(cut) => &first_line[..cut],
        None => first_line,
    };
    readable(message.trim_end_matches('.'))
}

/// The parser's wording where it speaks of its own machinery, said in the manifest's
/// terms.
fn readable(message: &str) -> String {
    if message.starts_with("budget breached: Depth") {
        return "nested more than 64 levels deep".to_owned();
    }
    if message.starts_with("budget breached: AliasAnchorRatio") {
        return "aliases repeat their anchors far more than a manifest needs (an alias bomb?)"
            .to_owned();
    }
    if message.starts_with("budget breached: Nodes")
        || message.starts_with("budget breached: Events")
    {
        return "the document expands to more than 1,000,000 values (an alias counts each \
                time it repeats): split it into one document per resource"
            .to_owned();
    }
    if message.starts_with("budget breached: Aliases") {
        return "more than 10,000 aliases".to_owned();
    }
    if message.starts_with("budget breached") {
        return "the document is too large to read".to_owned();
    }
    if message.starts_with("recursive references") {
        return "an alias refers to the value that contains it".to_owned();
    }
    if message.starts_with("non-finite float") {
        return "expected a number, found `.nan` or `.inf`".to_owned();
    }
    if let Some(problem) = lockstep_core::date_problem(message) {
        return if problem.starts_with("use ") {
            format!("not a valid date: {problem}")
        } else {
            format!("not a date: {problem}")
        };
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_and_keeps_line_offsets() {
        let text = "a: 1\n---\nb: 2\n---\n# only a comment\n---\nc: 3\n";
        let docs = split_documents(text);
        let offsets: Vec<u64> = docs.iter().map(|(line, _)| *line).collect();
        assert_eq!(offsets, vec![0, 1, 5]);
    }
}
