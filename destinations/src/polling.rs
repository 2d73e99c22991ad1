//! `pollingEndpoint`: nothing is pushed; the application's customer reads the destination's log through the
//! poller API (`message_poller.poll`, and consumers with positions of their own). Its config has no fields.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use xwebhook_engine::domain::Sink;
use xwebhook_engine::sink::{BatchSender, ConfigError, SendContext, SinkType};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollingConfig {}

#[derive(Debug)]
pub struct PollingEndpoint;

impl SinkType for PollingEndpoint {
    const NAME: &'static str = "pollingEndpoint";
    const PUSHES: bool = false;
    type Config = PollingConfig;
    type Patch = PollingConfig;

    fn check(_config: &PollingConfig) -> Result<(), ConfigError> {
        Ok(())
    }

    fn apply(_config: &mut PollingConfig, _patch: PollingConfig) {}

    fn shown(_config: &PollingConfig) -> Value {
        Value::Object(Default::default())
    }

    fn sender(_config: PollingConfig, _sink: &Sink, _cx: &SendContext) -> Option<Box<dyn BatchSender>> {
        None
    }
}
