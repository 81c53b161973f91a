//! What `#[stream_service]` runs: a whole service process from one call.
//!
//! [`run_service`] builds the tokio runtime, loads the configuration, collects every registered
//! `#[stream_handler]`, adds the producer, runs the user's setup body, checks the topic catalog
//! against the cluster, then runs the service until SIGINT/SIGTERM and stops it gracefully. The
//! macro only calls it; a service written by hand can call it too.
//!
//! `STREAMKIT_DRY_RUN=1` stops after the wiring is checked; `STREAMKIT_ASYNCAPI=path` stops
//! before the catalog is checked against the cluster, after writing the service's AsyncAPI
//! document to `path` ([`asyncapi`](crate::service::asyncapi)).

use std::future::Future;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::handler::Handler;
use crate::kafka::admin::{Replication, TopicAdmin, TopicCreation};
use crate::kafka::config::{BOOTSTRAP_ENV, KafkaConfig};
use crate::kafka::dev_cluster::DevCluster;
use crate::reliability::dedup::DedupStore;
use crate::service::builder::StreamServiceBuilder;
use crate::service::config::ServiceConfig;
use crate::service::handle::ServiceHandle;
use crate::service::handler_spec::HandlerSpec;
use crate::topic::{Catalog, Topic};

/// The environment variable that makes a service build and check everything, print its wiring and
/// exit without consuming (for CI and for the macros' own tests).
pub const DRY_RUN_ENV: &str = "STREAMKIT_DRY_RUN";

/// The environment variable that makes a service create the catalog's missing topics at startup.
pub const CREATE_MISSING_ENV: &str = "STREAMKIT_CREATE_MISSING_TOPICS";

type Step = Box<dyn FnOnce(StreamServiceBuilder) -> StreamServiceBuilder + Send>;

/// What a `#[stream_service]` body can add before the service starts: shared state and handlers
/// beyond the registered ones. Cheap to clone; everything is applied after the body returns.
///
/// ```no_run
/// use stream_core::service::runtime::{run_service, Setup};
///
/// #[derive(Clone, Default)]
/// struct Limits { max_quantity: u32 }
///
/// // What `#[stream_service(name = "risk-manager")] async fn main(setup: Setup)` expands to.
/// fn main() -> std::process::ExitCode {
///     run_service("risk-manager", None, |setup: Setup| async move {
///         setup.with_state(Limits { max_quantity: 500 });
///         Ok(())
///     })
/// }
/// ```
#[derive(Clone, Default)]
pub struct Setup {
    steps: Arc<Mutex<Vec<Step>>>,
    handle: Arc<tokio::sync::OnceCell<ServiceHandle>>,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.steps.lock().map(|s| s.len()).unwrap_or_default();
        f.debug_struct("Setup").field("steps", &n).finish()
    }
}

impl Setup {
    /// An empty setup.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives handlers taking `State<S>` this value.
    pub fn with_state<S: Clone + Send + Sync + 'static>(&self, state: S) -> &Self {
        self.push(Box::new(move |b| b.with_state(state)))
    }

    /// Sets the dedup store of every handler, in place of the one the configuration names
    /// (see [`StreamServiceBuilder::with_dedup`]).
    pub fn with_dedup(&self, store: Arc<dyn DedupStore>) -> &Self {
        self.push(Box::new(move |b| b.with_dedup(store)))
    }

    /// Calls `hooks` on every consumer group's rebalances (see
    /// [`RebalanceHooks`](crate::consumer::RebalanceHooks)).
    pub fn with_rebalance_hooks(&self, hooks: crate::consumer::RebalanceHooks) -> &Self {
        self.push(Box::new(move |b| b.with_rebalance_hooks(hooks)))
    }

    /// Adds a handler with its own options.
    pub fn add_handler(&self, spec: HandlerSpec) -> &Self {
        self.push(Box::new(move |b| b.add_handler(spec)))
    }

    /// Adds a handler for `topics` in group `group_id`.
    pub fn add_consumer_handler<H, Args>(
        &self,
        topics: &[&str],
        group_id: &str,
        handler: H,
    ) -> &Self
    where
        H: Handler<Args>,
        Args: 'static,
    {
        let name = std::any::type_name::<H>();
        let name = name.rsplit("::").next().unwrap_or(name);
        let spec = HandlerSpec::new(name, topics, group_id, handler);
        self.add_handler(spec)
    }

    /// The running service's handle (readiness, stats, shutdown), once it is built: await it
    /// from a task the body spawns.
    pub async fn service_handle(&self) -> ServiceHandle {
        loop {
            if let Some(h) = self.handle.get() {
                return h.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn push(&self, step: Step) -> &Self {
        self.steps.lock().expect("setup steps").push(step);
        self
    }

    /// Applies everything added to `builder`.
    pub fn apply(&self, mut builder: StreamServiceBuilder) -> StreamServiceBuilder {
        let steps = std::mem::take(&mut *self.steps.lock().expect("setup steps"));
        for step in steps {
            builder = step(builder);
        }
        builder
    }
}

/// Runs the service `name` in this process and returns its exit code: 0 after a graceful stop,
/// 1 (with the error on stderr) on any error, including a binary with no handler.
///
/// `catalog` is the text of the crate's `topics.toml`, if it has one. `body` is the user's setup.
///
/// The cluster is the one the configuration names (`KAFKA_BOOTSTRAP_SERVERS`, or a
/// `STREAMKIT_CONFIG` file; see [`ServiceConfig::from_env`]); every topic of the catalog must
/// exist there with at least its declared partitions, or, with
/// `STREAMKIT_CREATE_MISSING_TOPICS=1`, is created. Only when nothing names a cluster does the
/// service run on librdkafka's in-process mock cluster (it says so on stderr), with every
/// declared topic created.
pub fn run_service<F, Fut>(name: &str, catalog: Option<&str>, body: F) -> ExitCode
where
    F: FnOnce(Setup) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    crate::service::logging::init_logging();
    #[cfg(feature = "otel")]
    if let Some(provider) = crate::otel::meter_provider_from_env() {
        crate::otel::install_metrics(provider);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("streamkit")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(serve(name, catalog, body));
    #[cfg(feature = "otel")]
    crate::otel::shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve<F, Fut>(name: &str, catalog: Option<&str>, body: F) -> Result<()>
where
    F: FnOnce(Setup) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let handlers: Vec<_> = crate::service::registry::registered().collect();
    // A cluster named anywhere (the environment, or a STREAMKIT_CONFIG file) is used, never
    // replaced by the mock: a file-configured deployment must not silently run in-process.
    // With nothing configured, the mock cluster lives as long as the service.
    let (config, mock) = if cluster_configured() {
        (ServiceConfig::from_env()?, None)
    } else {
        let cluster = DevCluster::mock()?;
        eprintln!("{}", cluster.describe());
        let config = ServiceConfig::with_kafka(cluster.config()).merge_env()?;
        (config, Some(cluster))
    };
    let mut builder = StreamServiceBuilder::new(name, config.clone()).add_producer();
    for entry in handlers {
        builder = builder.add_handler((entry.make)());
    }
    let setup = Setup::new();
    body(setup.clone()).await?;
    if let Some(path) = crate::service::asyncapi::startup::requested() {
        let builder = setup.apply(builder);
        return crate::service::asyncapi::startup::write(name, catalog, builder.handlers(), &path);
    }
    if let Some(text) = catalog {
        let catalog = Catalog::parse(text).map_err(|e| Error::Config {
            key: "topics.toml".into(),
            message: e.to_string(),
        })?;
        match &mock {
            // A fresh in-process cluster: create every declared topic.
            Some(cluster) => {
                for spec in catalog.topics() {
                    let topics: Vec<String> = catalog
                        .brokers()
                        .iter()
                        .map(|b| format!("{b}.{}", spec.name()))
                        .collect();
                    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
                    cluster.create_topics(&topics, spec.partitions()).await?;
                }
            }
            None => {
                let create =
                    std::env::var(CREATE_MISSING_ENV).is_ok_and(|v| v == "1" || v == "true");
                check_catalog(&config.kafka, &catalog, create).await?;
            }
        }
        builder = builder.with_catalog(catalog);
    }
    let builder = setup.apply(builder);
    let wiring: Vec<String> = builder
        .handlers()
        .iter()
        .map(|h| {
            let outputs = match h.outputs() {
                [] => String::new(),
                outputs => format!(" -> {}", outputs.join(", ")),
            };
            let topics = h.topics().join(", ");
            format!("{} ({}: {topics}{outputs})", h.name(), h.group())
        })
        .collect();
    let service = builder.build()?;
    let _ = setup.handle.set(service.handle());
    if std::env::var(DRY_RUN_ENV).is_ok_and(|v| v == "1" || v == "true") {
        println!(
            "{name}: wiring checked, {} handler(s): {}",
            wiring.len(),
            wiring.join("; ")
        );
        return Ok(());
    }
    service.run().await?;
    Ok(())
}

/// Whether the environment names a cluster: `KAFKA_BOOTSTRAP_SERVERS`, or a `STREAMKIT_CONFIG`
/// file (which must then set `bootstrap.servers`).
fn cluster_configured() -> bool {
    let set = |key: &str| std::env::var(key).is_ok_and(|v| !v.trim().is_empty());
    set(BOOTSTRAP_ENV) || set("STREAMKIT_CONFIG")
}

/// Checks that every topic of `catalog` exists on the cluster of `kafka` with at least its
/// declared partitions; creates the missing ones when `create` is set, through the admin API with
/// the same properties (security included) and the catalog's settings: its `replication` (the
/// broker's default when it declares none) and topic configs (`retention.ms`, `cleanup.policy`).
/// `streamkit topics check` compares those settings too; this start-up check does not.
pub async fn check_catalog(kafka: &KafkaConfig, catalog: &Catalog, create: bool) -> Result<()> {
    let wanted: Vec<(String, i32)> = catalog
        .all_topics()
        .into_iter()
        .map(|t| {
            let partitions = catalog.spec_of(&t).map(|s| s.partitions()).unwrap_or(1);
            (t.to_string(), partitions)
        })
        .collect();
    let names: Vec<String> = wanted.iter().map(|(t, _)| t.clone()).collect();
    let admin = TopicAdmin::new(kafka)?;
    let found = admin.partitions(&names, Duration::from_secs(10)).await?;
    let mut missing = Vec::new();
    let mut problems = Vec::new();
    for ((topic, partitions), have) in wanted.iter().zip(found) {
        match have {
            None => missing.push((topic.clone(), *partitions)),
            Some(n) if n < *partitions => problems.push(format!(
                "topic `{topic}` has {n} partitions, topics.toml declares {partitions}"
            )),
            Some(_) => {}
        }
    }
    if create && !missing.is_empty() {
        let creations: Vec<TopicCreation> = missing
            .iter()
            .map(|(topic, partitions)| creation(catalog, topic, *partitions))
            .collect();
        admin
            .create_topics(&creations, Duration::from_secs(30))
            .await?;
    } else if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|(t, _)| t.as_str()).collect();
        problems.push(format!(
            "topics declared in topics.toml do not exist on the cluster: {}; create them, or set {CREATE_MISSING_ENV}=1",
            list.join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Config {
            key: "topics.toml".into(),
            message: problems.join("; "),
        })
    }
}

/// A missing catalog topic as it is created: its partitions and the catalog's settings.
fn creation(catalog: &Catalog, topic: &str, partitions: i32) -> TopicCreation {
    let spec = Topic::parse(topic)
        .ok()
        .and_then(|t| catalog.spec_of(&t).cloned());
    let replication = spec
        .as_ref()
        .and_then(|s| s.replication())
        .map_or(Replication::ClusterDefault, Replication::Fixed);
    let configs = spec.map(|s| s.topic_configs()).unwrap_or_default();
    TopicCreation {
        name: topic.to_owned(),
        partitions,
        replication,
        configs: configs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    }
}
