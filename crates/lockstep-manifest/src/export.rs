//! The state written back as manifests: `lockstep get -o yaml` output that
//! re-applies with no change.
//!
//! Dependencies are written inline under the blocked item, integration tasks and
//! items inline under their release; risks are documents of their own, with their
//! current status; interfaces with every version, including those approved proposals
//! published.

use lockstep_core::checklist::ChecklistTemplate;
use lockstep_core::{Name, ReleaseSpec, State};
use serde::Serialize;

use crate::API_VERSION;
use crate::wire::{
    ApprovalRuleDoc, ChecklistItemDoc, ChecklistTemplateDoc, ComponentDoc, DependsOnDoc, Document,
    IntegrationTaskDoc, ItemDoc, Metadata, ReleaseDoc, RiskDoc, SubscriptionDoc, UseDoc, spanned,
};

/// Writes resources of `state` as a multi-document YAML stream.
pub fn export(state: &State, kind: Option<&str>) -> Result<String, String> {
    let wants = |k: &str| kind.is_none_or(|wanted| wanted.eq_ignore_ascii_case(k));
    let mut out = String::new();
    let mut write = |doc: &dyn erased::Doc| -> Result<(), String> {
        out.push_str("---\n");
        out.push_str(&doc.to_yaml()?);
        Ok(())
    };
    if wants("Team") {
        for team in state.teams().values() {
            let mut spec = team.spec.clone();
            let labels = std::mem::take(&mut spec.labels);
            write(&document("Team", &team.name, labels, spec))?;
        }
    }
    if wants("Environment") {
        for environment in state.environments().values() {
            let mut spec = environment.spec.clone();
            let labels = std::mem::take(&mut spec.labels);
            write(&document("Environment", &environment.name, labels, spec))?;
        }
    }
    if wants("Blackout") {
        for blackout in state.blackouts().values() {
            let mut spec = blackout.spec.clone();
            let labels = std::mem::take(&mut spec.labels);
            write(&document("Blackout", &blackout.name, labels, spec))?;
        }
    }
    if wants("Resource") {
        for resource in state.resources().values() {
            let mut spec = resource.spec.clone();
            let labels = std::mem::take(&mut spec.labels);
            write(&document("Resource", &resource.name, labels, spec))?;
        }
    }
    if wants("Subscription") {
        for subscription in state.subscriptions().values() {
            let spec = SubscriptionDoc::from_spec(&subscription.spec);
            write(&document(
                "Subscription",
                &subscription.name,
                Default::default(),
                spec,
            ))?;
        }
    }
    if wants("Component") {
        for component in state.components().values() {
            let spec = ComponentDoc::from_spec(&component.spec);
            write(&document(
                "Component",
                &component.name,
                component.spec.labels.clone(),
                spec,
            ))?;
        }
    }
    if wants("Release") {
        for release in state.releases().values() {
            let spec = &release.spec;
            let items = state
                .items_of(&release.name)
                .map(|item| ItemDoc {
                    name: Some(spanned(item.name.to_string())),
                    release: None,
                    title: item.spec.title.clone(),
                    team: spanned(item.spec.team.to_string()),
                    component: item.spec.component.as_ref().map(|c| spanned(c.to_string())),
                    status: Some(item.status),
                    due: item.spec.due,
                    eta: item.eta,
                    estimate: item.spec.estimate,
                    uses: item
                        .spec
                        .uses
                        .iter()
                        .map(|(resource, &amount)| UseDoc {
                            resource: spanned(resource.to_string()),
                            amount,
                        })
                        .collect(),
                    pinned_start: item.spec.pinned_start,
                    labels: item.spec.labels.clone(),
                    acceptance_criteria: item.spec.acceptance_criteria.clone(),
                    depends_on: state
                        .blocked_by(&item.name)
                        .map(|d| DependsOnDoc {
                            item: spanned(d.blocker.to_string()),
                            need_by: d.need_by,
                            buffer_days: d.buffer_days,
                        })
                        .collect(),
                    updates: item.updates.clone(),
                })
                .collect();
            let integration_tasks = state
                .integration_tasks()
                .values()
                .filter(|t| t.release == release.name)
                .map(|task| IntegrationTaskDoc {
                    name: Some(spanned(task.name.to_string())),
                    release: None,
                    title: task.spec.title.clone(),
                    phase: task.spec.phase,
                    milestone: task.spec.milestone.as_ref().map(|m| spanned(m.to_string())),
                    components: task
                        .spec
                        .components
                        .iter()
                        .map(|c| spanned(c.to_string()))
                        .collect(),
                    owners: task
                        .spec
                        .owners
                        .iter()
                        .map(|o| spanned(o.to_string()))
                        .collect(),
                    due: task.spec.due,
                    environment: task
                        .spec
                        .environment
                        .as_ref()
                        .map(|e| spanned(e.to_string())),
                    scenarios: task.spec.scenarios.clone(),
                })
                .collect();
            let doc = ReleaseDoc {
                state: Some(release.state),
                items,
                integration_tasks,
                approvals: state
                    .checklists()
                    .releases
                    .get(&release.name)
                    .and_then(|r| r.approval_rules.as_ref())
                    .map(|rules| rules.iter().map(ApprovalRuleDoc::from_rule).collect()),
                ..release_doc(spec)
            };
            write(&document(
                "Release",
                &release.name,
                spec.labels.clone(),
                doc,
            ))?;
        }
    }
    if wants("Risk") {
        for risk in state.risks().values() {
            write(&document(
                "Risk",
                &risk.name,
                risk.spec.labels.clone(),
                RiskDoc::from_risk(risk),
            ))?;
        }
    }
    if wants("Interface") {
        for interface in state.contracts().interfaces.values() {
            write(&document(
                "Interface",
                &interface.name,
                interface.spec.labels.clone(),
                crate::wire::InterfaceDoc::from_spec(&interface.spec),
            ))?;
        }
    }
    if wants("ChecklistTemplate") {
        let templates: Vec<_> = state.checklists().templates.values().cloned().collect();
        out.push_str(&export_templates(&templates)?);
    }
    Ok(out)
}

/// Writes checklist templates (declared or built in) as `ChecklistTemplate`
/// documents: how `lockstep checklist templates -o yaml` shows the built-in ones
/// so they can be copied into git and changed.
pub fn export_templates(templates: &[ChecklistTemplate]) -> Result<String, String> {
    let mut out = String::new();
    for template in templates {
        let spec = &template.spec;
        let doc = ChecklistTemplateDoc {
            title: spec.title.clone(),
            applies_to: spec.applies_to.clone(),
            expedited: spec.expedited,
            items: spec.items.iter().map(ChecklistItemDoc::from_spec).collect(),
            approvals: spec
                .approvals
                .iter()
                .map(ApprovalRuleDoc::from_rule)
                .collect(),
        };
        out.push_str("---\n");
        out.push_str(&erased::Doc::to_yaml(&document(
            "ChecklistTemplate",
            &template.name,
            Default::default(),
            doc,
        ))?);
    }
    Ok(out)
}

/// One release's own document, its spec only: no state, items, integration tasks or
/// approval rules, which applying it leaves as they are. A change request that re-dates
/// a release proposes this.
pub fn release_document(name: &Name, spec: &ReleaseSpec) -> Result<String, String> {
    let doc = release_doc(spec);
    let yaml = erased::Doc::to_yaml(&document("Release", name, spec.labels.clone(), doc))?;
    Ok(format!("---\n{yaml}"))
}

/// A release's document with its spec and nothing else.
fn release_doc(spec: &ReleaseSpec) -> ReleaseDoc {
    ReleaseDoc {
        title: spec.title.clone(),
        kind: spec.kind,
        version: spec.version.clone(),
        state: None,
        target_date: spec.target_date,
        feature_freeze: spec.feature_freeze,
        code_freeze: spec.code_freeze,
        manager: spec.manager.as_ref().map(|m| spanned(m.to_string())),
        milestones: spec.milestones.clone(),
        deployment: spec.deployment.clone(),
        items: Vec::new(),
        integration_tasks: Vec::new(),
        approvals: None,
    }
}

fn document<S: Serialize>(
    kind: &str,
    name: &Name,
    labels: lockstep_core::Labels,
    spec: S,
) -> Document<S> {
    Document {
        api_version: API_VERSION.to_owned(),
        kind: kind.to_owned(),
        metadata: Metadata {
            name: spanned(name.to_string()),
            labels,
            annotations: Default::default(),
        },
        spec,
    }
}

mod erased {
    //! Lets `export` write documents of different spec types through one closure.
    pub trait Doc {
        fn to_yaml(&self) -> Result<String, String>;
    }
    impl<S: serde::Serialize> Doc for super::Document<S> {
        fn to_yaml(&self) -> Result<String, String> {
            serde_saphyr::to_string(self).map_err(|e| format!("cannot write YAML: {e}"))
        }
    }
}
