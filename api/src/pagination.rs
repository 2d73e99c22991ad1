//! `limit`, `iterator` and `order` query parameters, and the list envelope.

use serde::{Deserialize, Serialize};
use xwebhook_engine::store::{Cursor, DEFAULT_LIMIT, ListQuery, MAX_LIMIT, Order, Page};

use crate::error::ApiError;
use crate::extract::QueryParams;

/// Reads the pagination parameters; `default_order` is the listing's natural order.
pub fn list_query(q: &QueryParams, default_order: Order) -> Result<ListQuery, ApiError> {
    let limit = q.parse::<u64>("limit")?.unwrap_or(DEFAULT_LIMIT as u64);
    if limit > MAX_LIMIT as u64 {
        return Err(ApiError::invalid(
            &["query", "limit"],
            format!("limit must be at most {MAX_LIMIT}"),
        ));
    }
    let order = match q.get("order") {
        None => default_order,
        Some("ascending") => Order::Ascending,
        Some("descending") => Order::Descending,
        Some(other) => {
            return Err(ApiError::invalid(
                &["query", "order"],
                format!("`{other}` is not an order: use `ascending` or `descending`"),
            ));
        }
    };
    let cursor = q.get("iterator").filter(|s| !s.is_empty()).map(Cursor::parse);
    Ok(ListQuery::new(
        usize::try_from(limit).unwrap_or(MAX_LIMIT),
        cursor,
        order,
    ))
}

/// Svix's list envelope.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    pub iterator: Option<String>,
    pub prev_iterator: Option<String>,
    pub done: bool,
}

impl<T> From<Page<T>> for ListResponse<T> {
    fn from(page: Page<T>) -> Self {
        Self {
            data: page.items,
            iterator: page.iterator,
            prev_iterator: page.prev_iterator,
            done: page.done,
        }
    }
}
