//! Delivery of outbox messages: the worker that sends what `lockstep-comms` wrote to
//! Slack- and Teams-compatible webhooks and to generic webhooks (CloudEvents JSON signed
//! with HMAC-SHA256), at least once, with an `Idempotency-Key` header, exponential
//! backoff with jitter, a retry limit and dead letters; and the outbox policy that plugs
//! message generation into `Program::commit`.
//!
//! A message is marked delivered only after the receiver's 2xx, so a worker killed
//! mid-delivery loses nothing: its lease expires and the message is sent again under the
//! same key, which a receiver that honours the key drops.
//!
//! E-mail goes over SMTP (STARTTLS and login, see `email`); a permanent SMTP refusal (5xx)
//! is a dead letter at once, a transient one (4xx) is retried like an HTTP failure.
//!
//! Digest subscribers' messages are held to their digest time and then merged, per
//! person and channel, into one message (`lockstep_comms::digest`).
#![deny(missing_docs)]

pub mod bench;
pub mod channels;
pub mod email;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use lockstep_comms::Templates;
use lockstep_comms::notify::{ChannelKind, NotificationConfig};
use lockstep_comms::policy::{Delivery, Pending, on_commit};
use lockstep_store::NewOutboxMessage;
use lockstep_store::outbox::{ClaimedMessage, DeliveryLog};
use lockstep_store::program::OutboxPolicy;

/// What went wrong outside a single delivery.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] lockstep_store::StoreError),
    /// The HTTP client could not be built.
    #[error("cannot build the http client: {0}")]
    Client(String),
    /// A scheduled message could not be written.
    #[error(transparent)]
    Compose(#[from] lockstep_comms::ComposeError),
    /// The benchmark could not set itself up.
    #[error("benchmark setup: {0}")]
    BenchSetup(String),
    /// A channel's settings cannot be used.
    #[error("channel `{channel}`: {message}")]
    Channel {
        /// The channel.
        channel: String,
        /// What is wrong.
        message: String,
    },
}

/// The outbox policy for `Program::with_outbox_policy`: events in, envelopes for the
/// subscribers of `config` out, in the same transaction.
pub fn outbox_policy(config: Arc<NotificationConfig>, templates: Arc<Templates>) -> OutboxPolicy {
    Arc::new(move |state, pending, meta| {
        let pending: Vec<Pending<'_>> = pending
            .iter()
            .map(|p| Pending {
                stream: p.stream,
                stream_version: p.stream_version,
                event: p.event,
            })
            .collect();
        on_commit(&config, &templates, state, &pending, meta)
            .into_iter()
            .map(|e| NewOutboxMessage {
                channel: e.channel,
                idempotency_key: e.idempotency_key,
                payload: e.payload,
            })
            .collect()
    })
}

/// What [`schedule`] enqueued for one release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// The release.
    pub release: lockstep_core::Name,
    /// Messages written for the day (one per subscriber and kind).
    pub written: usize,
    /// Of those, how many were not in the outbox yet.
    pub new: u64,
}

/// Enqueues the time-driven messages of `date` for every release that is not finished:
/// each subscriber's daily update and, when `date` falls on `weekly_on`, the weekly
/// agenda. They are enqueued at the log's last position (the state they describe), and
/// their keys name the day, so scheduling a day twice sends each message once.
pub async fn schedule(
    log: &DeliveryLog,
    config: &NotificationConfig,
    input: lockstep_comms::Compose<'_>,
    date: jiff::civil::Date,
    weekly_on: jiff::civil::Weekday,
    now: Timestamp,
) -> Result<Vec<Scheduled>, DeliveryError> {
    let position = input.history.iter().map(|r| r.position).max().unwrap_or(0);
    let mut out = Vec::new();
    for (name, release) in input.state.releases() {
        if release.state.is_terminal() {
            continue;
        }
        let envelopes =
            lockstep_comms::policy::scheduled(config, input, name, date, weekly_on, now)?;
        let messages: Vec<NewOutboxMessage> = envelopes
            .into_iter()
            .map(|e| NewOutboxMessage {
                channel: e.channel,
                idempotency_key: e.idempotency_key,
                payload: e.payload,
            })
            .collect();
        let new = log.enqueue(position, &messages).await?;
        out.push(Scheduled {
            release: name.clone(),
            written: messages.len(),
            new,
        });
    }
    Ok(out)
}

/// What one pass of the worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Delivered (2xx).
    pub delivered: usize,
    /// Failed and scheduled for another attempt.
    pub retried: usize,
    /// Failed for the last time: now dead letters.
    pub dead: usize,
    /// Not due yet (a not-before time): put back until then.
    pub postponed: usize,
}

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How long a claimed message is hidden from other workers.
    pub lease: Duration,
    /// Messages claimed per pass.
    pub batch: i64,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            lease: Duration::from_secs(60),
            batch: 256,
            concurrency: 16,
        }
    }
}

/// Delivers outbox messages.
#[derive(Debug, Clone)]
pub struct Worker {
    log: DeliveryLog,
    config: Arc<NotificationConfig>,
    client: reqwest::Client,
    options: WorkerOptions,
    secrets: Arc<BTreeMap<String, Vec<u8>>>,
    mailers: Arc<BTreeMap<String, email::Mailer>>,
}

enum Outcome {
    Delivered,
    Failed(String),
    /// Failed in a way another attempt cannot fix: a dead letter at once.
    Rejected(String),
    Postponed(Timestamp),
}

impl Worker {
    /// A worker over `log` for the channels of `config`. Secrets written `env:NAME` are
    /// read from the environment here, once.
    pub fn new(
        log: DeliveryLog,
        config: Arc<NotificationConfig>,
        options: WorkerOptions,
    ) -> Result<Worker, DeliveryError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(options.concurrency)
            .build()
            .map_err(|e| DeliveryError::Client(e.to_string()))?;
        let secrets = config
            .channels
            .iter()
            .filter_map(|(name, channel)| {
                let value = resolve_secret(channel.secret.as_deref()?)?;
                Some((name.clone(), value.into_bytes()))
            })
            .collect();
        let mut mailers = BTreeMap::new();
        for (name, channel) in &config.channels {
            let (ChannelKind::Email, Some(smtp)) = (channel.kind, &channel.smtp) else {
                continue;
            };
            let password = smtp.password.as_deref().and_then(resolve_secret);
            let timeout = Duration::from_secs(u64::from(channel.timeout_seconds));
            let roots = match &smtp.ca_file {
                Some(path) => Some(std::fs::read(path).map_err(|e| DeliveryError::Channel {
                    channel: name.clone(),
                    message: format!("cannot read caFile {path}: {e}"),
                })?),
                None => None,
            };
            if roots.as_deref().is_some_and(|pem| {
                !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----")
            }) {
                return Err(DeliveryError::Channel {
                    channel: name.clone(),
                    message: format!(
                        "caFile {} holds no PEM certificate",
                        smtp.ca_file.as_deref().unwrap_or_default()
                    ),
                });
            }
            let mailer = email::Mailer::new(smtp, password, timeout, roots.as_deref()).map_err(
                |message| DeliveryError::Channel {
                    channel: name.clone(),
                    message,
                },
            )?;
            mailers.insert(name.clone(), mailer);
        }
        Ok(Worker {
            log,
            config,
            client,
            options,
            secrets: Arc::new(secrets),
            mailers: Arc::new(mailers),
        })
    }

    /// Claims what is due at `now`, sends it, and records each outcome. Digest messages
    /// due to the same person on the same channel go out as one merged message
    /// (`lockstep_comms::digest`), and share its outcome.
    pub async fn deliver_once(&self, now: Timestamp) -> Result<PassReport, DeliveryError> {
        let lease_until = now
            .saturating_add(SignedDuration::try_from(self.options.lease).unwrap_or_default())
            .unwrap_or(now);
        let claimed = self
            .log
            .claim_due(now, lease_until, self.options.batch)
            .await?;
        let mut report = PassReport::default();
        let mut delivered = Vec::new();
        let semaphore = Arc::new(tokio::sync::Semaphore::new(self.options.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for send in batches(claimed, now) {
            let worker = self.clone();
            let permit = Arc::clone(&semaphore)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            tasks.spawn(async move {
                let outcome = match &send.merged {
                    Some((delivery, key)) => {
                        worker
                            .attempt_delivery(&send.parts[0].channel, delivery, key, now)
                            .await
                    }
                    None => worker.attempt(&send.parts[0], now).await,
                };
                drop(permit);
                (send.parts, outcome)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let Ok((parts, outcome)) = joined else {
                // A panicked send leaves its lease to expire: the message is retried.
                continue;
            };
            match outcome {
                Outcome::Delivered => delivered.extend(parts.iter().map(|m| m.id)),
                Outcome::Postponed(until) => {
                    for message in &parts {
                        self.log.postpone(message.id, until).await?;
                        report.postponed += 1;
                    }
                }
                Outcome::Failed(ref error) | Outcome::Rejected(ref error) => {
                    // One retry time for the whole digest, so its parts stay together.
                    let attempts = parts.iter().map(|m| m.attempts).max().unwrap_or(0);
                    let attempt = u32::try_from(attempts + 1).unwrap_or(u32::MAX);
                    let retry_at = match outcome {
                        Outcome::Failed(_) => self
                            .config
                            .retry
                            .backoff_millis(attempt, fastrand::f64())
                            .map(|millis| {
                                now.saturating_add(SignedDuration::from_millis(
                                    i64::try_from(millis).unwrap_or(i64::MAX),
                                ))
                                .unwrap_or(now)
                            }),
                        _ => None,
                    };
                    for message in &parts {
                        tracing::warn!(id = message.id, channel = %message.channel, attempt, %error, "delivery failed");
                        if retry_at.is_some() {
                            report.retried += 1;
                        } else {
                            report.dead += 1;
                        }
                        self.log
                            .record_failure(message.id, error, now, retry_at)
                            .await?;
                    }
                }
            }
        }
        report.delivered = delivered.len();
        self.log.mark_delivered(&delivered, now).await?;
        Ok(report)
    }

    async fn attempt(&self, message: &ClaimedMessage, now: Timestamp) -> Outcome {
        let delivery: Delivery = match serde_json::from_str(&message.payload) {
            Ok(delivery) => delivery,
            Err(error) => return Outcome::Failed(format!("unreadable payload: {error}")),
        };
        if let Some(not_before) = delivery.not_before
            && not_before > now
        {
            return Outcome::Postponed(not_before);
        }
        self.attempt_delivery(&message.channel, &delivery, &message.idempotency_key, now)
            .await
    }

    async fn attempt_delivery(
        &self,
        channel_name: &str,
        delivery: &Delivery,
        key: &str,
        now: Timestamp,
    ) -> Outcome {
        let Some(channel) = self.config.channels.get(channel_name) else {
            return Outcome::Failed(format!("unknown channel `{channel_name}`"));
        };
        if channel.kind == ChannelKind::Email {
            let Some(mailer) = self.mailers.get(channel_name) else {
                return Outcome::Rejected(format!("channel `{channel_name}` has no smtp"));
            };
            return match mailer.send(delivery, key).await {
                Ok(()) => Outcome::Delivered,
                Err(email::SendError::Transient(error)) => Outcome::Failed(error),
                Err(email::SendError::Permanent(error)) => Outcome::Rejected(error),
            };
        }
        let Some(url) = channel.url.as_deref() else {
            return Outcome::Failed(format!("channel `{channel_name}` has no url"));
        };
        let request = channels::request(
            channel.kind,
            delivery,
            key,
            self.secrets.get(channel_name).map(Vec::as_slice),
            now,
        );
        let mut builder = self
            .client
            .post(url)
            .timeout(Duration::from_secs(u64::from(channel.timeout_seconds)))
            .header("Content-Type", request.content_type);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        match builder.body(request.body).send().await {
            Ok(response) if response.status().is_success() => Outcome::Delivered,
            Ok(response) => Outcome::Failed(format!("http {}", response.status().as_u16())),
            Err(error) if error.is_timeout() => Outcome::Failed("timed out".to_owned()),
            Err(error) => Outcome::Failed(format!("{error}")),
        }
    }
}

/// One send: a single outbox message, or a person's due digest messages merged.
struct Send {
    parts: Vec<ClaimedMessage>,
    /// The merged delivery and its key, for a digest of two or more parts.
    merged: Option<(Delivery, String)>,
}

/// Groups the claimed messages into sends: digest messages that are due, by channel and
/// person (ordered by key, so a retried digest reads the same); everything else alone.
fn batches(claimed: Vec<ClaimedMessage>, now: Timestamp) -> Vec<Send> {
    let mut sends = Vec::new();
    let mut digests: BTreeMap<(String, String), Vec<(ClaimedMessage, Delivery)>> = BTreeMap::new();
    for message in claimed {
        let due_digest = serde_json::from_str::<Delivery>(&message.payload)
            .ok()
            .filter(|d| d.digest && d.not_before.is_none_or(|at| at <= now));
        match due_digest {
            Some(delivery) if delivery.recipient.is_some() => {
                let handle = delivery
                    .recipient
                    .as_ref()
                    .map(|r| r.handle.to_string())
                    .unwrap_or_default();
                digests
                    .entry((message.channel.clone(), handle))
                    .or_default()
                    .push((message, delivery));
            }
            _ => sends.push(Send {
                parts: vec![message],
                merged: None,
            }),
        }
    }
    for ((channel, handle), mut group) in digests {
        if group.len() == 1 {
            let (message, _) = group.remove(0);
            sends.push(Send {
                parts: vec![message],
                merged: None,
            });
            continue;
        }
        group.sort_by(|a, b| a.0.idempotency_key.cmp(&b.0.idempotency_key));
        // The digest time all parts waited for: the latest not-before among them.
        let due = group
            .iter()
            .filter_map(|(_, d)| d.not_before)
            .max()
            .unwrap_or(now);
        let deliveries: Vec<Delivery> = group.iter().map(|(_, d)| d.clone()).collect();
        let recipient = deliveries[0]
            .recipient
            .clone()
            .expect("grouped digests have a recipient");
        let merged = lockstep_comms::digest::merge(&recipient, &deliveries, due).map(|delivery| {
            (
                delivery,
                lockstep_comms::digest::key(&channel, &handle, due),
            )
        });
        sends.push(Send {
            parts: group.into_iter().map(|(m, _)| m).collect(),
            merged,
        });
    }
    sends
}

/// A secret as written in the configuration: `env:NAME` reads the environment (absent:
/// none), anything else is the value itself.
fn resolve_secret(raw: &str) -> Option<String> {
    match raw.strip_prefix("env:") {
        Some(var) => std::env::var(var).ok(),
        None => Some(raw.to_owned()),
    }
}
