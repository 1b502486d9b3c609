//! Delivery inside `lockstep serve`: the outbox worker and the daily schedule (daily
//! updates, the weekly agenda) run as two tasks of the server process, next to the HTTP
//! server, and stop with it.
//!
//! Nothing here is new machinery: the worker is `lockstep_delivery::Worker` (claim with a
//! lease, mark delivered only after a 2xx) and the schedule is
//! `lockstep_delivery::schedule` (keys that name the day, so a day enqueued twice is sent
//! once). That is what makes a restart safe: a message in flight when the process stopped
//! is claimed again after its lease and sent under the same idempotency key, and the
//! scheduler of a restarted server enqueues today's messages again as no-ops. Escalations
//! and announcements are written by the outbox policy inside each commit
//! (`with_policy`). Shutdown is cooperative: a pass in progress finishes (its results are
//! recorded) before the task returns.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use jiff::Timestamp;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use lockstep_comms::notify::NotificationConfig;
use lockstep_comms::{Compose, Provenance, Templates};
use lockstep_delivery::{Worker, outbox_policy, schedule};
use lockstep_store::outbox::DeliveryLog;
use lockstep_store::program::Program;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What `serve` was told about delivery.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// The notification file, when there is one.
    pub notifications: Option<PathBuf>,
    /// Run the worker and scheduler (off: messages are still written, another process
    /// delivers them with `lockstep outbox deliver`).
    pub deliver: bool,
    /// Between worker passes.
    pub interval: Duration,
    /// The UTC time of day the scheduled messages of the day are written.
    pub schedule_at: Time,
    /// The weekday of the weekly agenda.
    pub weekly_on: Weekday,
    /// Template overrides.
    pub templates: Option<PathBuf>,
}

/// The loaded configuration: what the commit policy and the loops share.
pub struct Delivery {
    config: Arc<NotificationConfig>,
    templates: Arc<Templates>,
    settings: DeliverySettings,
}

/// Reads the notification file named in `settings` (an explicit path must exist; the
/// default `notifications.yaml` may be absent, which turns delivery off and is the
/// caller's to report: `serve` says so once, the one-shot commands stay quiet).
pub fn load(settings: DeliverySettings, explicit: bool) -> anyhow::Result<Option<Delivery>> {
    let Some(path) = settings.notifications.clone() else {
        return Ok(None);
    };
    if !explicit && !path.exists() {
        return Ok(None);
    }
    let config = read_config(&path)?;
    let templates = crate::comms::load_templates(settings.templates.as_deref())?;
    Ok(Some(Delivery {
        config: Arc::new(config),
        templates: Arc::new(templates),
        settings,
    }))
}

fn read_config(path: &Path) -> anyhow::Result<NotificationConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    NotificationConfig::parse(&text).with_context(|| format!("in {}", path.display()))
}

impl Delivery {
    /// `program` with the outbox policy: commits write their messages in the same
    /// transaction.
    pub fn with_policy(&self, program: Program) -> Program {
        program.with_outbox_policy(outbox_policy(
            Arc::clone(&self.config),
            Arc::clone(&self.templates),
        ))
    }

    /// Starts the worker and the scheduler on the log at `database_url`, unless delivery
    /// is off. They stop when `stop` turns true.
    pub async fn start(
        &self,
        database_url: &str,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Vec<JoinHandle<()>>> {
        if !self.settings.deliver {
            tracing::info!("delivery is off (--no-deliver): messages wait in the outbox");
            return Ok(Vec::new());
        }
        let log = DeliveryLog::open(database_url, &Default::default())
            .await
            .context("cannot open the outbox delivery log")?;
        let worker = Worker::new(log.clone(), Arc::clone(&self.config), Default::default())?;
        let reader = Program::open(database_url, Default::default())
            .await
            .context("cannot open the log for the scheduler")?;
        if let Ok(state) = reader.load().await {
            for (subscription, channel) in self.config.undeclared_channels(&state) {
                tracing::warn!(%subscription, channel, "subscription uses a channel the notification file does not declare; skipped");
            }
        }
        let deliver = tokio::spawn(deliver_loop(worker, self.settings.interval, stop.clone()));
        let scheduled = tokio::spawn(schedule_loop(
            reader,
            log,
            Arc::clone(&self.config),
            Arc::clone(&self.templates),
            self.settings.clone(),
            stop,
        ));
        tracing::info!(
            interval_ms = self.settings.interval.as_millis() as u64,
            schedule_at = %self.settings.schedule_at,
            "delivering the outbox"
        );
        Ok(vec![deliver, scheduled])
    }
}

/// Waits `interval`, or less if asked to stop; returns whether to stop.
async fn pause(interval: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(interval) => *stop.borrow(),
        changed = stop.changed() => changed.is_err() || *stop.borrow(),
    }
}

async fn deliver_loop(worker: Worker, interval: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        // A pass is never interrupted: what it sent is recorded before we stop.
        match worker.deliver_once(Timestamp::now()).await {
            Ok(report) if report.delivered + report.retried + report.dead > 0 => {
                tracing::info!(
                    delivered = report.delivered,
                    retried = report.retried,
                    dead = report.dead,
                    postponed = report.postponed,
                    "outbox pass"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "outbox pass failed"),
        }
        if pause(interval, &mut stop).await {
            tracing::info!("outbox worker stopped");
            return;
        }
    }
}

async fn schedule_loop(
    reader: Program,
    log: DeliveryLog,
    config: Arc<NotificationConfig>,
    templates: Arc<Templates>,
    settings: DeliverySettings,
    mut stop: watch::Receiver<bool>,
) {
    let mut done_for = None;
    loop {
        let now = Timestamp::now();
        let local = now.to_zoned_datetime(TimeZone::UTC);
        let today = local.date();
        if done_for != Some(today) && local.time() >= settings.schedule_at {
            match schedule_day(&reader, &log, &config, &templates, &settings, now).await {
                Ok(n_new) => {
                    tracing::info!(date = %today, n_new, "scheduled the day's messages");
                    done_for = Some(today);
                }
                Err(error) => tracing::warn!(%error, "cannot schedule the day's messages"),
            }
        }
        // The schedule only needs minute precision; the worker interval bounds the wait so
        // tests (and a server started just before the hour) do not wait a minute.
        if pause(settings.interval.max(Duration::from_secs(1)), &mut stop).await {
            tracing::info!("scheduler stopped");
            return;
        }
    }
}

async fn schedule_day(
    reader: &Program,
    log: &DeliveryLog,
    config: &NotificationConfig,
    templates: &Templates,
    settings: &DeliverySettings,
    now: Timestamp,
) -> anyhow::Result<u64> {
    let state = reader.load().await?;
    let history = reader.history(0, i64::MAX).await?;
    let provenance = Provenance::new(&history);
    let risk = lockstep_core::risk::assess(&state);
    let input = Compose {
        state: &state,
        history: &history,
        provenance: &provenance,
        risk: &risk,
        templates,
    };
    let date = now.to_zoned_datetime(TimeZone::UTC).date();
    let scheduled = schedule(log, config, input, date, settings.weekly_on, now).await?;
    Ok(scheduled.iter().map(|s| s.new).sum())
}

/// `program` with the outbox policy when a notification file is configured for the CLI
/// (`LOCKSTEP_NOTIFICATIONS`, else `./notifications.yaml` when present), so that a
/// change made with `lockstep apply` or an item verb writes its messages in the same
/// transaction, exactly as a change made through the server does. Delivering them is
/// `serve`'s or `outbox deliver`'s job.
pub fn with_configured_policy(program: Program) -> anyhow::Result<Program> {
    let (path, explicit) = match std::env::var_os("LOCKSTEP_NOTIFICATIONS") {
        Some(path) => (PathBuf::from(path), true),
        None => (PathBuf::from("notifications.yaml"), false),
    };
    let settings = DeliverySettings {
        notifications: Some(path),
        deliver: false,
        interval: Duration::from_secs(2),
        schedule_at: Time::midnight(),
        weekly_on: Weekday::Friday,
        templates: std::env::var_os("LOCKSTEP_TEMPLATES").map(PathBuf::from),
    };
    Ok(match load(settings, explicit)? {
        Some(delivery) => delivery.with_policy(program),
        None => program,
    })
}
