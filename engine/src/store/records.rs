//! The record ports: one small trait per entity (applications, endpoints, event types, messages, attempts).
//! Every method is scoped by organization (and application where the entity lives in one); an object of
//! another organization is, to the caller, absent.

use async_trait::async_trait;

use super::{
    AttemptFilter, DestinationFilter, ListQuery, MessageFilter, Order, Pager, StoreResult, TimeTypeChannel,
};
use crate::domain::{
    Application, Attempt, Destination, Endpoint, EventType, EventTypeName, Message, MessageStatus, Uid,
};
use crate::id::{AppId, AttemptId, EndpointId, MessageId, OrgId};

/// How a path addresses an application or endpoint: by id, or by the UID its owner chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref<I> {
    Id(I),
    Uid(Uid),
}

#[async_trait]
pub trait ApplicationStore: Send + Sync {
    /// Inserts a new application. `Conflict` if its UID is taken in the organization.
    async fn create_application(&self, app: &Application) -> StoreResult<()>;

    /// The application of `org` with this id or UID, or `None`.
    async fn get_application(&self, org: &OrgId, key: &Ref<AppId>) -> StoreResult<Option<Application>>;

    /// Replaces an existing application (matched by org and id). `NotFound` if absent, `Conflict` if its new
    /// UID belongs to another application.
    async fn update_application(&self, app: &Application) -> StoreResult<()>;

    /// Deletes the application and its endpoints. `NotFound` if absent. Its messages and attempts become
    /// unreachable through the API and are left to retention.
    async fn delete_application(&self, org: &OrgId, id: &AppId) -> StoreResult<()>;

    /// Applications of `org` ordered by id, scanned as `query.walk()` says (see [`super::Page::from_walk`]).
    async fn list_applications(&self, org: &OrgId, query: &ListQuery) -> StoreResult<Vec<Application>>;

    /// Answers `Ok` when the record store is reachable, for health checks. By default it lists one application
    /// of an organization that does not exist (a read that finds nothing); a backend may offer something
    /// cheaper.
    async fn probe(&self) -> StoreResult<()> {
        let nobody = OrgId::generate();
        let query = ListQuery::first(1, Order::Ascending);
        self.list_applications(&nobody, &query).await.map(|_| ())
    }
}

#[async_trait]
pub trait EndpointStore: Send + Sync {
    /// Inserts a new endpoint. `Conflict` if its UID is taken in the application.
    async fn create_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()>;

    async fn get_endpoint(
        &self,
        org: &OrgId,
        app: &AppId,
        key: &Ref<EndpointId>,
    ) -> StoreResult<Option<Endpoint>>;

    /// Replaces an existing endpoint. `NotFound` if absent, `Conflict` if its new UID is taken.
    async fn update_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()>;

    /// `NotFound` if absent.
    async fn delete_endpoint(&self, org: &OrgId, app: &AppId, id: &EndpointId) -> StoreResult<()>;

    /// Endpoints of the application ordered by id, scanned as `query.walk()` says.
    async fn list_endpoints(&self, org: &OrgId, app: &AppId, query: &ListQuery)
    -> StoreResult<Vec<Endpoint>>;

    /// Every endpoint of the application, disabled ones included, for fan-out.
    async fn endpoints_of_app(&self, org: &OrgId, app: &AppId) -> StoreResult<Vec<Endpoint>>;
}

#[async_trait]
pub trait EventTypeStore: Send + Sync {
    /// `Conflict` if the name exists in the organization (archived or not).
    async fn create_event_type(&self, event_type: &EventType) -> StoreResult<()>;

    async fn get_event_type(&self, org: &OrgId, name: &EventTypeName) -> StoreResult<Option<EventType>>;

    /// Replaces an existing event type. `NotFound` if absent.
    async fn update_event_type(&self, event_type: &EventType) -> StoreResult<()>;

    /// Removes the row for good (archiving is an update). `NotFound` if absent.
    async fn delete_event_type(&self, org: &OrgId, name: &EventTypeName) -> StoreResult<()>;

    /// Event types ordered by name, archived ones only when asked.
    async fn list_event_types(
        &self,
        org: &OrgId,
        query: &ListQuery,
        include_archived: bool,
    ) -> StoreResult<Vec<EventType>>;
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Inserts a message and, with it, the pending destinations of its first deliveries (planned at ingest;
    /// none when a fan-out task creates them later): all of it or nothing. `Conflict` if its `event_id` is
    /// already used in the application.
    ///
    /// An error means the message is not stored, except `Timeout`: the insert was sent and whether it happened
    /// could not be learned. A backend whose replies can time out after a write ran must find out before it
    /// answers (Redis asks on the same connection), since the API's refusal promises the message is not stored.
    async fn create_message(&self, message: &Message, destinations: &[Destination]) -> StoreResult<()>;

    async fn get_message(&self, org: &OrgId, app: &AppId, id: &MessageId) -> StoreResult<Option<Message>>;

    /// The application's messages with these ids, in the order asked, `None` where one is not stored (or
    /// belongs to another application): one round trip for a page or a batch, rather than one per message.
    async fn get_messages(
        &self,
        org: &OrgId,
        app: &AppId,
        ids: &[MessageId],
    ) -> StoreResult<Vec<Option<Message>>>;

    /// The id of the application's message with this `event_id`, or `None`.
    async fn message_id_by_event_id(
        &self,
        org: &OrgId,
        app: &AppId,
        event_id: &Uid,
    ) -> StoreResult<Option<MessageId>>;

    /// Replaces the message's payload with `{}` for good (the sender asked to forget it); its metadata stays.
    /// `NotFound` if absent; expunging twice is harmless.
    async fn expunge_message_content(&self, org: &OrgId, app: &AppId, id: &MessageId) -> StoreResult<()>;

    /// A message by id, or by its `eventId` (the API accepts either where a message id is expected).
    async fn find_message(
        &self,
        org: &OrgId,
        app: &AppId,
        key: &Ref<MessageId>,
    ) -> StoreResult<Option<Message>> {
        let id = match key {
            Ref::Id(id) => id.clone(),
            Ref::Uid(event_id) => match self.message_id_by_event_id(org, app, event_id).await? {
                Some(id) => id,
                None => return Ok(None),
            },
        };
        self.get_message(org, app, &id).await
    }

    /// Messages of the application ordered by id (creation time), filtered, scanned as `query.walk()` says.
    async fn list_messages(
        &self,
        org: &OrgId,
        app: &AppId,
        filter: &MessageFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Message>>;
}

/// An attempt and the destination state it leaves behind, recorded together.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub attempt: Attempt,
    pub destination: Destination,
}

#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Inserts destinations that do not exist yet; existing ones are left as they are, so a fan-out that runs
    /// twice (its worker died before acknowledging) does not reset progress.
    async fn create_destinations(&self, destinations: &[Destination]) -> StoreResult<()>;

    /// Inserts the attempts and overwrites their destinations' state, all or nothing.
    async fn record_attempts(&self, records: &[AttemptRecord]) -> StoreResult<()>;

    /// Writes destinations without an attempt, overwriting existing ones: a delivery that ends without being
    /// tried (its endpoint was disabled while a retry waited).
    async fn put_destinations(&self, destinations: &[Destination]) -> StoreResult<()>;

    async fn get_destination(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        endpoint: &EndpointId,
    ) -> StoreResult<Option<Destination>>;

    async fn get_attempt(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        id: &AttemptId,
    ) -> StoreResult<Option<Attempt>>;

    /// Clears the attempt's recorded response body for good. `NotFound` if absent; twice is harmless.
    async fn expunge_attempt_content(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        id: &AttemptId,
    ) -> StoreResult<()>;

    /// Attempts to one endpoint ordered by attempt id, filtered, scanned as `query.walk()` says.
    async fn list_attempts_by_endpoint(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        filter: &AttemptFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Attempt>>;

    /// Attempts of one message ordered by attempt id, filtered, scanned as `query.walk()` says.
    async fn list_attempts_by_message(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        filter: &AttemptFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Attempt>>;

    /// Destinations of one message ordered by endpoint id.
    async fn list_destinations_by_message(
        &self,
        org: &OrgId,
        app: &AppId,
        msg: &MessageId,
        query: &ListQuery,
    ) -> StoreResult<Vec<Destination>>;

    /// Destinations of one endpoint ordered by message id, filtered.
    async fn list_destinations_by_endpoint(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        filter: &DestinationFilter,
        query: &ListQuery,
    ) -> StoreResult<Vec<Destination>>;

    /// How many of the endpoint's destinations are in each status, for messages created within `window`.
    /// Derived by paging through [`Self::list_destinations_by_endpoint`]; a backend that can count in place
    /// overrides it (Postgres, with `GROUP BY`).
    async fn destination_counts(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        window: &TimeTypeChannel,
    ) -> StoreResult<StatusCounts> {
        let filter = DestinationFilter {
            common: window.clone(),
            status: None,
            tag: None,
        };
        let mut tally = Tally::new();
        while let Some(query) = tally.next_query() {
            let rows = self.list_destinations_by_endpoint(org, app, endpoint, &filter, &query);
            tally.add(rows.await?, &query, |d| d.msg_id.to_string(), |d| d.status);
        }
        Ok(tally.counts)
    }

    /// How many of the endpoint's attempts, made within `window`, ended in each status (an attempt is a
    /// success or a failure). Derived by paging through [`Self::list_attempts_by_endpoint`], like
    /// [`Self::destination_counts`].
    async fn attempt_counts(
        &self,
        org: &OrgId,
        app: &AppId,
        endpoint: &EndpointId,
        window: &TimeTypeChannel,
    ) -> StoreResult<StatusCounts> {
        let filter = AttemptFilter {
            common: window.clone(),
            ..AttemptFilter::default()
        };
        let mut tally = Tally::new();
        while let Some(query) = tally.next_query() {
            let rows = self.list_attempts_by_endpoint(org, app, endpoint, &filter, &query);
            tally.add(rows.await?, &query, |a| a.id.to_string(), |a| a.status);
        }
        Ok(tally.counts)
    }
}

/// Statuses counted over a whole listing, paged through from its start.
struct Tally {
    counts: StatusCounts,
    pager: Pager,
}

impl Tally {
    fn new() -> Self {
        Self {
            counts: StatusCounts::default(),
            pager: Pager::new(Order::Ascending),
        }
    }

    fn next_query(&mut self) -> Option<ListQuery> {
        self.pager.next_query()
    }

    /// Counts one page: `key` is a row's listing key, `status` what it counts as.
    fn add<T>(
        &mut self,
        rows: Vec<T>,
        query: &ListQuery,
        key: impl Fn(&T) -> String,
        status: impl Fn(&T) -> MessageStatus,
    ) {
        let page = self.pager.advance(rows, query, key);
        page.iter().for_each(|row| self.counts.add(status(row)));
    }
}

/// Destinations, or attempts, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub success: u64,
    pub pending: u64,
    pub sending: u64,
    pub fail: u64,
    pub canceled: u64,
}

impl StatusCounts {
    pub fn add(&mut self, status: MessageStatus) {
        self.add_many(status, 1);
    }

    pub fn add_many(&mut self, status: MessageStatus, count: u64) {
        let slot = match status {
            MessageStatus::Success => &mut self.success,
            MessageStatus::Pending => &mut self.pending,
            MessageStatus::Sending => &mut self.sending,
            MessageStatus::Fail => &mut self.fail,
            MessageStatus::Canceled => &mut self.canceled,
        };
        *slot += count;
    }
}
