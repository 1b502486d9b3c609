//! Backstage software-catalog entities (`catalog-info.yaml`, `apiVersion:
//! backstage.io/v1alpha1`) read as Lockstep resources, so that a program's teams and
//! components come from the catalog a company already keeps.
//!
//! - A `Group` becomes a team: its title from `spec.profile.displayName`, its time zone
//!   from the annotation `lockstep.dev/time-zone` (UTC when absent, with a note), its
//!   members from `spec.members` and from every `User` whose `spec.memberOf` names it.
//! - A `User` becomes a member of one team: its name and e-mail from `spec.profile`, its
//!   roles from the annotation `lockstep.dev/roles` (comma-separated). Lockstep keeps one
//!   team per person; a user in several groups joins the first of type `team`, else the
//!   first, and a note says so.
//! - A `Component` becomes a component: owned by `spec.owner` (a group, or the team of the
//!   user who owns it), its repository from `github.com/project-slug`,
//!   `gitlab.com/project-slug` or `backstage.io/source-location`, and `spec.dependsOn`'s
//!   components kept as deployment order.
//! - An `API` becomes an interface: produced by its owner's team, provided by the
//!   component whose `providesApis` names it, consumed by those whose `consumesApis` do.
//!   Its versions stay Lockstep's own (proposals, publication).
//! - `System`, `Domain`, `Resource`, `Location` and `Template` have nothing to become;
//!   each is skipped with a note.
//!
//! Applied over teams and components that exist, the catalog replaces what it says and
//! keeps the rest: a team's working hours, holidays and on-call (while both people are
//! still in it), a time zone or roles no annotation gives, a component's repository when
//! no annotation names one, and labels.
//!
//! Catalog files are written for Backstage, which validates them; fields Lockstep does not
//! use are ignored rather than refused. Names are lowered and `_` and `.` become `-`,
//! the same way wherever an entity is named, so references still meet; namespaces are
//! ignored.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::parse::{Located, Resource, location};
use crate::wire::{ComponentDoc, ConsumerDoc, InterfaceDoc, TeamDoc};
use crate::{Location, ManifestError};

/// The catalog's `apiVersion`s read here.
pub(crate) const API_VERSIONS: &[&str] = &["backstage.io/v1alpha1", "backstage.io/v1beta1"];

/// The catalog's kinds, for "did you mean".
const KINDS: &[&str] = &[
    "Component",
    "API",
    "Group",
    "User",
    "System",
    "Domain",
    "Resource",
    "Location",
    "Template",
];

/// Annotation giving a group's IANA time zone.
pub const TIME_ZONE_ANNOTATION: &str = "lockstep.dev/time-zone";
/// Annotation giving a user's Lockstep roles, comma-separated.
pub const ROLES_ANNOTATION: &str = "lockstep.dev/roles";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entity<S> {
    metadata: Metadata,
    spec: S,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    name: Spanned<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Profile {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupSpec {
    #[serde(rename = "type")]
    group_type: String,
    #[serde(default)]
    profile: Profile,
    #[serde(default)]
    members: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserSpec {
    #[serde(default)]
    profile: Profile,
    #[serde(default)]
    member_of: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ComponentSpec {
    owner: Spanned<String>,
    #[serde(default)]
    depends_on: Vec<Spanned<String>>,
    #[serde(default)]
    provides_apis: Vec<Spanned<String>>,
    #[serde(default)]
    consumes_apis: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiSpec {
    #[serde(rename = "type")]
    api_type: Spanned<String>,
    owner: Spanned<String>,
}

enum Kind {
    Group(Entity<GroupSpec>),
    User(Entity<UserSpec>),
    Component(Entity<ComponentSpec>),
    Api(Entity<ApiSpec>),
    /// A kind with no Lockstep counterpart, and its name.
    Skipped(&'static str, Spanned<String>),
}

/// What a catalog team leaves unsaid. Applied over a team that exists, the catalog
/// gives who is in it, their names and e-mail; the rest (working hours, holidays,
/// on-call, and time zone or roles where no annotation gives them) is kept as it stands.
pub(crate) struct Unsaid {
    /// The group has no time-zone annotation.
    pub time_zone: bool,
    /// Members without a roles annotation.
    pub roles: std::collections::BTreeSet<String>,
}

/// One catalog entity and where it was read.
pub(crate) struct Parsed {
    file: usize,
    line_offset: u64,
    kind: Kind,
}

#[derive(Deserialize)]
struct NameOnly {
    metadata: NameOnlyMetadata,
}

#[derive(Deserialize)]
struct NameOnlyMetadata {
    name: Spanned<String>,
}

/// Reads one catalog document of kind `kind`.
pub(crate) fn read(
    text: &str,
    kind: &Spanned<String>,
    file: usize,
    line_offset: u64,
) -> Result<Parsed, (serde_saphyr::Location, String)> {
    use crate::parse::from_yaml as typed;
    let kind = match kind.value.as_str() {
        "Group" => Kind::Group(typed(text)?),
        "User" => Kind::User(typed(text)?),
        "Component" => Kind::Component(typed(text)?),
        "API" => Kind::Api(typed(text)?),
        other => match KINDS.iter().find(|k| **k == other) {
            Some(known) => Kind::Skipped(known, typed::<NameOnly>(text)?.metadata.name),
            None => {
                let hint = lockstep_core::suggest::hint(other, KINDS.iter().copied());
                return Err((
                    kind.referenced,
                    format!(
                        "unknown Backstage kind `{other}`{hint}; known kinds: {}",
                        KINDS.join(", ")
                    ),
                ));
            }
        },
    };
    Ok(Parsed {
        file,
        line_offset,
        kind,
    })
}

/// A catalog name as a Lockstep name: lower case, `_` and `.` as `-`.
fn normalize(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// The kind (lower case, `default_kind` when absent) and normalized name of an entity
/// reference `[kind:][namespace/]name`.
fn entity_ref(raw: &str, default_kind: &str) -> (String, String) {
    let (kind, rest) = match raw.split_once(':') {
        Some((kind, rest)) => (kind.to_ascii_lowercase(), rest),
        None => (default_kind.to_owned(), raw),
    };
    let name = rest.rsplit_once('/').map_or(rest, |(_, name)| name);
    (kind, normalize(name))
}

fn renamed(name: &Spanned<String>, value: String) -> Spanned<String> {
    Spanned::new(value, name.referenced, name.defined)
}

/// The repository Lockstep matches CI signals by (`github.com/acme/api`), from the
/// catalog's annotations.
fn repository(annotations: &BTreeMap<String, String>) -> Option<String> {
    for host in ["github.com", "gitlab.com"] {
        if let Some(slug) = annotations.get(&format!("{host}/project-slug")) {
            return Some(format!("{host}/{}", slug.trim_matches('/')));
        }
    }
    let source = annotations.get("backstage.io/source-location")?;
    let url = source.strip_prefix("url:").unwrap_or(source);
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let mut parts: Vec<&str> = without_scheme
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    // `github.com/acme/api/tree/main/` → `github.com/acme/api`.
    if let Some(cut) = parts
        .iter()
        .position(|p| *p == "tree" || *p == "blob" || *p == "-")
    {
        parts.truncate(cut);
    }
    let joined = parts.join("/");
    let joined = joined.trim_end_matches(".git");
    (!joined.is_empty()).then(|| joined.to_owned())
}

/// What the catalog entities of one apply become.
pub(crate) struct Resolved {
    pub resources: Vec<Located>,
    pub notes: Vec<ManifestError>,
    pub errors: Vec<ManifestError>,
}

/// Turns the catalog entities of one apply into resources, joining users to their groups.
pub(crate) fn resolve(entities: Vec<Parsed>, files: &[String]) -> Resolved {
    let mut resolved = Resolved {
        resources: Vec::new(),
        notes: Vec::new(),
        errors: Vec::new(),
    };
    let at = |parsed: &Parsed, where_: &serde_saphyr::Location| -> Location {
        location(&files[parsed.file], parsed.line_offset, where_)
    };
    // Which groups claim each user, in document order, from both sides.
    let mut groups: Vec<(&Parsed, &Entity<GroupSpec>)> = Vec::new();
    let mut users: BTreeMap<String, (&Parsed, &Entity<UserSpec>)> = BTreeMap::new();
    let mut claims: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for parsed in &entities {
        match &parsed.kind {
            Kind::Group(group) => groups.push((parsed, group)),
            Kind::User(user) => {
                let name = normalize(&user.metadata.name.value);
                for group in &user.spec.member_of {
                    let (_, group) = entity_ref(&group.value, "group");
                    claims.entry(name.clone()).or_default().push(group);
                }
                users.insert(name, (parsed, user));
            }
            Kind::Component(_) | Kind::Api(_) => {}
            Kind::Skipped(kind, name) => resolved.notes.push(ManifestError {
                location: at(parsed, &name.referenced),
                message: format!(
                    "Backstage {kind} `{}` skipped: Lockstep imports Groups, Users, Components \
                     and APIs only",
                    name.value
                ),
            }),
        }
    }
    for (_, group) in &groups {
        let group_name = normalize(&group.metadata.name.value);
        for member in &group.spec.members {
            let (_, user) = entity_ref(&member.value, "user");
            let claimed = claims.entry(user).or_default();
            if !claimed.contains(&group_name) {
                claimed.push(group_name.clone());
            }
        }
    }
    // Each user's one team: the first claiming group of type `team`, else the first.
    let group_type: BTreeMap<String, &str> = groups
        .iter()
        .map(|(_, g)| {
            (
                normalize(&g.metadata.name.value),
                g.spec.group_type.as_str(),
            )
        })
        .collect();
    let mut team_of: BTreeMap<String, String> = BTreeMap::new();
    for (user, claimed) in &claims {
        let imported: Vec<&String> = claimed
            .iter()
            .filter(|g| group_type.contains_key(*g))
            .collect();
        let Some(first) = imported
            .iter()
            .find(|g| group_type.get(**g) == Some(&"team"))
            .or(imported.first())
        else {
            continue;
        };
        if imported.len() > 1
            && let Some((parsed, entity)) = users.get(user)
        {
            resolved.notes.push(ManifestError {
                location: at(parsed, &entity.metadata.name.referenced),
                message: format!(
                    "user `{user}` is in groups {}; Lockstep keeps one team per person: `{first}`",
                    imported
                        .iter()
                        .map(|g| format!("`{g}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        team_of.insert(user.clone(), (*first).clone());
    }
    for (user, (parsed, entity)) in &users {
        if !team_of.contains_key(user) {
            resolved.notes.push(ManifestError {
                location: at(parsed, &entity.metadata.name.referenced),
                message: format!("user `{user}` skipped: it belongs to no imported group"),
            });
        }
    }

    // Users in document order, for the teams that list none of their own.
    let mut users_in_order: Vec<(&Parsed, String)> = entities
        .iter()
        .filter_map(|parsed| match &parsed.kind {
            Kind::User(user) => Some((parsed, normalize(&user.metadata.name.value))),
            _ => None,
        })
        .collect();
    users_in_order.sort_by_key(|(parsed, _)| (parsed.file, parsed.line_offset));
    for (parsed, group) in &groups {
        let name = normalize(&group.metadata.name.value);
        let mut members = Vec::new();
        let mut unsaid = Unsaid {
            time_zone: false,
            roles: Default::default(),
        };
        // A team's members in the group's order, then the users naming it in theirs.
        let mut member_names: Vec<String> = group
            .spec
            .members
            .iter()
            .map(|member| entity_ref(&member.value, "user").1)
            .collect();
        for (_, user) in &users_in_order {
            if !member_names.contains(user) {
                member_names.push(user.clone());
            }
        }
        for user in &member_names {
            if team_of.get(user) != Some(&name) {
                continue;
            }
            let entity = users.get(user).map(|(_, u)| *u);
            if !entity.is_some_and(|u| u.metadata.annotations.contains_key(ROLES_ANNOTATION)) {
                unsaid.roles.insert(user.clone());
            }
            match member(user, entity) {
                Ok(member) => members.push(member),
                Err(message) => {
                    let (place, where_) = match users.get(user) {
                        Some((p, u)) => (*p, u.metadata.name.referenced),
                        None => (*parsed, group.metadata.name.referenced),
                    };
                    resolved.errors.push(ManifestError {
                        location: at(place, &where_),
                        message,
                    });
                }
            }
        }
        let time_zone = match group.metadata.annotations.get(TIME_ZONE_ANNOTATION) {
            Some(zone) => zone.clone(),
            None => {
                resolved.notes.push(ManifestError {
                    location: at(parsed, &group.metadata.name.referenced),
                    message: format!(
                        "group `{name}` has no `{TIME_ZONE_ANNOTATION}` annotation: its team keeps its time zone, or works in UTC if it is new"
                    ),
                });
                unsaid.time_zone = true;
                "UTC".to_owned()
            }
        };
        resolved.resources.push(Located {
            file: parsed.file,
            line_offset: parsed.line_offset,
            resource: Resource::Team {
                name: renamed(&group.metadata.name, name),
                labels: group.metadata.labels.clone(),
                spec: TeamDoc {
                    title: group
                        .spec
                        .profile
                        .display_name
                        .clone()
                        .or_else(|| group.metadata.title.clone()),
                    time_zone: renamed(&group.metadata.name, time_zone),
                    working_hours: Default::default(),
                    holidays: Vec::new(),
                    members,
                    on_call: None,
                    labels: Default::default(),
                },
                catalog: Some(unsaid),
            },
        });
    }

    for parsed in &entities {
        let Kind::Component(component) = &parsed.kind else {
            continue;
        };
        let name = normalize(&component.metadata.name.value);
        let team = match owner_team(&component.spec.owner, &team_of) {
            Ok(team) => team,
            Err(problem) => {
                resolved.errors.push(ManifestError {
                    location: at(parsed, &component.spec.owner.referenced),
                    message: format!("component `{name}`: {problem}"),
                });
                continue;
            }
        };
        let mut depends_on = Vec::new();
        for dependency in &component.spec.depends_on {
            let (kind, target) = entity_ref(&dependency.value, "component");
            if kind == "component" {
                depends_on.push(renamed(dependency, target));
            } else {
                resolved.notes.push(ManifestError {
                    location: at(parsed, &dependency.referenced),
                    message: format!(
                        "component `{name}`: dependsOn `{}` ignored: only components order a deployment",
                        dependency.value
                    ),
                });
            }
        }
        resolved.resources.push(Located {
            file: parsed.file,
            line_offset: parsed.line_offset,
            resource: Resource::Component {
                name: renamed(&component.metadata.name, name),
                labels: component.metadata.labels.clone(),
                spec: ComponentDoc {
                    title: component.metadata.title.clone(),
                    team: renamed(&component.spec.owner, team),
                    repository: repository(&component.metadata.annotations),
                    depends_on,
                },
                catalog: true,
            },
        });
    }
    resolve_apis(&entities, &team_of, &at, &mut resolved);
    resolved
}

/// A team member from a catalog user (or only a handle, for a group member the files do
/// not define).
fn member(handle: &str, user: Option<&Entity<UserSpec>>) -> Result<lockstep_core::Member, String> {
    let parsed = lockstep_core::Name::parse(handle).map_err(|e| format!("user `{handle}`: {e}"))?;
    let Some(user) = user else {
        return Ok(lockstep_core::Member {
            handle: parsed,
            name: None,
            email: None,
            roles: Vec::new(),
        });
    };
    let mut roles = Vec::new();
    if let Some(raw) = user.metadata.annotations.get(ROLES_ANNOTATION) {
        for role in raw.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            match lockstep_core::Role::parse(role) {
                Some(role) if !roles.contains(&role) => roles.push(role),
                Some(_) => {}
                None => {
                    let known: Vec<&str> = lockstep_core::Role::ALL
                        .iter()
                        .map(|r| r.as_str())
                        .collect();
                    let hint = lockstep_core::suggest::hint(role, known.iter().copied());
                    return Err(format!(
                        "user `{handle}`: `{ROLES_ANNOTATION}` names unknown role `{role}`{hint}; roles: {}",
                        known.join(", ")
                    ));
                }
            }
        }
    }
    Ok(lockstep_core::Member {
        handle: parsed,
        name: user
            .spec
            .profile
            .display_name
            .clone()
            .or_else(|| user.metadata.title.clone()),
        email: user.spec.profile.email.clone(),
        roles,
    })
}

/// Interfaces from `API` entities: produced by their owner's team, provided by the
/// component whose `providesApis` names them, consumed by the components whose
/// `consumesApis` do. Versions are Lockstep's (proposals and publication): the catalog
/// declares none, and an interface keeps the versions it has.
fn resolve_apis(
    entities: &[Parsed],
    team_of: &BTreeMap<String, String>,
    at: &dyn Fn(&Parsed, &serde_saphyr::Location) -> Location,
    resolved: &mut Resolved,
) {
    // API name to the components providing and consuming it, in document order.
    let mut providers: BTreeMap<String, Vec<Spanned<String>>> = BTreeMap::new();
    let mut consumers: BTreeMap<String, Vec<Spanned<String>>> = BTreeMap::new();
    let apis: BTreeMap<String, ()> = entities
        .iter()
        .filter_map(|p| match &p.kind {
            Kind::Api(api) => Some((normalize(&api.metadata.name.value), ())),
            _ => None,
        })
        .collect();
    for parsed in entities {
        let Kind::Component(component) = &parsed.kind else {
            continue;
        };
        let name = normalize(&component.metadata.name.value);
        for (refs, index) in [
            (&component.spec.provides_apis, &mut providers),
            (&component.spec.consumes_apis, &mut consumers),
        ] {
            for api in refs {
                let (_, api_name) = entity_ref(&api.value, "api");
                if apis.contains_key(&api_name) {
                    index
                        .entry(api_name)
                        .or_default()
                        .push(renamed(&component.metadata.name, name.clone()));
                } else {
                    resolved.notes.push(ManifestError {
                        location: at(parsed, &api.referenced),
                        message: format!(
                            "component `{name}`: API `{}` is not in these files; its interface is not linked",
                            api.value
                        ),
                    });
                }
            }
        }
    }
    for parsed in entities {
        let Kind::Api(api) = &parsed.kind else {
            continue;
        };
        let name = normalize(&api.metadata.name.value);
        let known = lockstep_core::contract::InterfaceType::words();
        if !known.contains(&api.spec.api_type.value.as_str()) {
            resolved.notes.push(ManifestError {
                location: at(parsed, &api.spec.api_type.referenced),
                message: format!(
                    "API `{name}` of type `{}` skipped: Lockstep's interfaces are {}",
                    api.spec.api_type.value,
                    known.join(", ")
                ),
            });
            continue;
        }
        let producer = match owner_team(&api.spec.owner, team_of) {
            Ok(team) => team,
            Err(problem) => {
                resolved.errors.push(ManifestError {
                    location: at(parsed, &api.spec.owner.referenced),
                    message: format!("API `{name}`: {problem}"),
                });
                continue;
            }
        };
        let provided_by = providers.remove(&name).unwrap_or_default();
        if provided_by.len() > 1 {
            resolved.notes.push(ManifestError {
                location: at(parsed, &api.metadata.name.referenced),
                message: format!(
                    "API `{name}` is provided by {} components; its interface names the first, `{}`",
                    provided_by.len(),
                    provided_by[0].value
                ),
            });
        }
        resolved.resources.push(Located {
            file: parsed.file,
            line_offset: parsed.line_offset,
            resource: Resource::Interface {
                name: renamed(&api.metadata.name, name.clone()),
                labels: api.metadata.labels.clone(),
                spec: InterfaceDoc {
                    title: api.metadata.title.clone(),
                    producer: renamed(&api.spec.owner, producer),
                    component: provided_by.into_iter().next(),
                    consumers: consumers
                        .remove(&name)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|component| ConsumerDoc {
                            team: None,
                            component: Some(component),
                        })
                        .collect(),
                    kind: api.spec.api_type.clone(),
                    versions: Vec::new(),
                },
                catalog: true,
            },
        });
    }
}

/// The team that owns an entity: its owner group, or the team of its owner user.
fn owner_team(
    owner: &Spanned<String>,
    team_of: &BTreeMap<String, String>,
) -> Result<String, String> {
    let (kind, name) = entity_ref(&owner.value, "group");
    match kind.as_str() {
        "group" => Ok(name),
        "user" => team_of.get(&name).cloned().ok_or_else(|| {
            format!(
                "owner `{}` is a user in no imported group; Lockstep components and interfaces belong to teams",
                owner.value
            )
        }),
        other => Err(format!(
            "owner `{}` is a {other}; an owner is a group or a user",
            owner.value
        )),
    }
}

/// Fills what the catalog left unsaid about a team from the team as it stands.
pub(crate) fn keep_unsaid(
    spec: &mut lockstep_core::TeamSpec,
    existing: &lockstep_core::TeamSpec,
    unsaid: &Unsaid,
) {
    if unsaid.time_zone {
        spec.time_zone = existing.time_zone.clone();
    }
    spec.working_hours = existing.working_hours.clone();
    spec.holidays = existing.holidays.clone();
    let mut labels = existing.labels.clone();
    labels.extend(std::mem::take(&mut spec.labels));
    spec.labels = labels;
    for member in &mut spec.members {
        if unsaid.roles.contains(member.handle.as_str())
            && let Some(before) = existing.members.iter().find(|m| m.handle == member.handle)
        {
            member.roles = before.roles.clone();
        }
    }
    // Who left the team leaves its on-call; a backup left alone becomes the primary.
    let still_here =
        |handle: &&lockstep_core::Name| spec.members.iter().any(|m| &m.handle == *handle);
    spec.on_call = existing.on_call.as_ref().and_then(|on_call| {
        let mut here = [Some(&on_call.primary), on_call.backup.as_ref()]
            .into_iter()
            .flatten()
            .filter(still_here)
            .cloned();
        Some(lockstep_core::Contacts {
            primary: here.next()?,
            backup: here.next(),
        })
    });
}
