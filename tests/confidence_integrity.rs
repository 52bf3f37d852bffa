//! Confidence of the integrity findings whose near misses are still reported (bounded N+1
//! loops, check-then-insert races in start-up code): the fixture annotations see every
//! level, so the levels themselves are pinned here.

#[path = "support/confidence.rs"]
mod confidence;
use confidence::{confidences, level};

#[test]
fn bounded_per_row_reads_are_low() {
    let found = confidences(&["fixtures/python/integrity/bounded_loops"]);
    // A top-N ranking (grouped, ordered, limited); a `[:5]` slice; a job committing every
    // row.
    assert_eq!(level(&found, "DATA003", "stats.py", 18), "low");
    assert_eq!(level(&found, "DATA003", "stats.py", 25), "low");
    assert_eq!(level(&found, "DATA003", "stats.py", 34), "low");
    // Every row of the table; a page whose size the caller picks.
    assert_eq!(level(&found, "DATA003", "stats.py", 46), "medium");
    assert_eq!(level(&found, "DATA003", "stats.py", 57), "medium");
    // A primary-key get of the row a review refers to (the identity map answers repeats);
    // the few shelves sharing one short code; every shelf of a room stays medium.
    assert_eq!(level(&found, "DATA003", "stats.py", 65), "low");
    assert_eq!(level(&found, "DATA003", "stats.py", 73), "low");
    assert_eq!(level(&found, "DATA003", "stats.py", 82), "medium");
}

#[test]
fn per_row_reads_beside_heavier_per_row_work_are_low() {
    let found = confidences(&["fixtures/python/integrity/per_row_work"]);
    // An HTTP download per row; a look-up-then-create per row; a command that only
    // prints what it reads.
    assert_eq!(level(&found, "DATA003", "sync.py", 10), "low");
    assert_eq!(level(&found, "DATA003", "sync.py", 26), "low");
    assert_eq!(level(&found, "DATA003", "list_resellers.py", 15), "low");
    // A read that excludes what earlier rows picked; a row read, then saved.
    assert_eq!(level(&found, "DATA003", "sync.py", 39), "low");
    assert_eq!(level(&found, "DATA003", "sync.py", 48), "low");
    // A row loaded to be deleted through the session.
    assert_eq!(level(&found, "DATA003", "sync.py", 66), "low");
    // A plain count per row; a command that mails every row.
    assert_eq!(level(&found, "DATA003", "sync.py", 19), "medium");
    assert_eq!(level(&found, "DATA003", "mail_resellers.py", 12), "medium");
    // A calendar lookup per day of a window inside the row loop; a query keyed by the
    // row inside a counting loop stays medium.
    assert_eq!(level(&found, "DATA003", "age_orders.py", 17), "low");
    assert_eq!(level(&found, "DATA003", "age_orders.py", 24), "medium");
}

#[test]
fn check_then_insert_in_startup_code_is_low() {
    let found = confidences(&["fixtures/python/integrity/startup_seed"]);
    // Only the lifespan calls these two; a route handler calls the third as well.
    assert_eq!(level(&found, "DATA008", "users.py", 13), "low");
    assert_eq!(level(&found, "DATA008", "users.py", 21), "low");
    assert_eq!(level(&found, "DATA008", "users.py", 30), "medium");
}

#[test]
fn check_then_insert_a_row_forbids_only_under_a_condition_is_low() {
    let found = confidences(&["fixtures/python/integrity/conditional_single"]);
    // `if same_kind and kind.only_one: return 400`; then `if watching: return 400`.
    assert_eq!(level(&found, "DATA008", "views.py", 22), "low");
    assert_eq!(level(&found, "DATA008", "views.py", 33), "medium");
}

#[test]
fn check_then_insert_a_unique_set_covers_is_low() {
    let found = confidences(&["fixtures/python/integrity/unique_creates"]);
    // `UniqueConstraint(user, product)` (model in another file), a `OneToOneField` set
    // through `user_id`, DRF's `Token`; a model with no unique set stays medium.
    assert_eq!(level(&found, "DATA008", "services.py", 12), "low");
    assert_eq!(level(&found, "DATA008", "services.py", 29), "low");
    assert_eq!(level(&found, "DATA008", "services.py", 37), "low");
    assert_eq!(level(&found, "DATA008", "services.py", 21), "medium");
}

#[test]
fn check_then_insert_a_declared_unique_key_covers_is_low() {
    let found = confidences(&["fixtures/python/integrity/unique_creates_schema"]);
    // SQLAlchemy `unique=True` on the looked-up slug (row filled from a form); a `UNIQUE`
    // column and a primary key in the SQL schema of the model's table.
    assert_eq!(level(&found, "DATA008", "services.py", 20), "low");
    assert_eq!(level(&found, "DATA008", "services.py", 39), "low");
    // A plain index; a table with no key of the looked-up column; an upsert, whose
    // callers retry, stays medium although the key is unique.
    assert_eq!(level(&found, "DATA008", "services.py", 31), "medium");
    assert_eq!(level(&found, "DATA008", "services.py", 49), "medium");
    assert_eq!(level(&found, "DATA008", "services.py", 58), "medium");
}

#[test]
fn natural_keys_declared_optional_are_low() {
    let found = confidences(&[
        "fixtures/sql/optional_keys",
        "fixtures/python/integrity/models/staff",
        "fixtures/python/integrity/models/billing",
    ]);
    // Declared `NULL`; added to a table with rows and never made required.
    assert_eq!(level(&found, "DATA006", "up.sql", 8), "low");
    assert_eq!(level(&found, "DATA006", "up.sql", 18), "low");
    // Added empty, then `SET NOT NULL` in a later migration.
    assert_eq!(level(&found, "DATA006", "up.sql", 21), "medium");
    // `Mapped[Optional[str]]`, `nullable=True`; a column declared `nullable=False`.
    assert_eq!(level(&found, "DATA006", "models.py", 20), "low");
    assert_eq!(level(&found, "DATA006", "models.py", 22), "low");
    assert_eq!(level(&found, "DATA006", "models.py", 90), "medium");
}

#[test]
fn natural_keys_behind_a_plain_index_are_low() {
    let found = confidences(&[
        "fixtures/sql/indexed_keys",
        "fixtures/python/integrity/models/boards",
    ]);
    // `CREATE INDEX` on an expression; on the column itself.
    assert_eq!(level(&found, "DATA006", "up.sql", 8), "low");
    assert_eq!(level(&found, "DATA006", "up.sql", 19), "low");
    // No index at all.
    assert_eq!(level(&found, "DATA006", "up.sql", 11), "medium");
    // `index=True`; a column with neither.
    assert_eq!(level(&found, "DATA006", "models.py", 19), "low");
    assert_eq!(level(&found, "DATA006", "models.py", 28), "medium");
    // The index a Django `SlugField` brings by itself is not a choice.
    let found = confidences(&["fixtures/python/integrity/models/crm"]);
    assert_eq!(level(&found, "DATA006", "models.py", 23), "medium");
}

#[test]
fn natural_keys_found_only_by_a_lookup_naming_no_table_are_low_when_shared() {
    let found = confidences(&["fixtures/python/integrity/models/shelves"]);
    // `WHERE slug = :slug`, with two tables holding a `slug`; `Rack.slug == slug`.
    assert_eq!(level(&found, "DATA006", "models.py", 19), "low");
    assert_eq!(level(&found, "DATA006", "models.py", 27), "medium");
}

#[test]
fn writes_optional_by_a_caller_flag_are_low() {
    let found = confidences(&["fixtures/python/web/django_shop"]);
    // The later write runs only under `if restock:`, a parameter of the helper.
    assert_eq!(level(&found, "DATA009", "returns.py", 69), "low");
    // Both writes always run.
    assert_eq!(level(&found, "DATA009", "returns.py", 25), "medium");
}

#[test]
fn writes_that_only_record_or_stamp_are_low() {
    let found = confidences(&["fixtures/python/web/django_shop"]);
    // A history row about the change; a note and its history row.
    assert_eq!(level(&found, "DATA009", "desk.py", 18), "low");
    assert_eq!(level(&found, "DATA009", "desk.py", 30), "low");
    // A time stamp (`last_used = timezone.now()`) before the real change.
    assert_eq!(level(&found, "DATA009", "desk.py", 43), "low");
    // Answers saved one by one when valid; two set-updates a retry finishes; an extra
    // removal the form asks for.
    assert_eq!(level(&found, "DATA009", "desk.py", 61), "low");
    assert_eq!(level(&found, "DATA009", "desk.py", 73), "low");
    assert_eq!(level(&found, "DATA009", "desk.py", 86), "low");
    // A note copied, its files moved and the old one deleted; a ticket and its link.
    assert_eq!(level(&found, "DATA009", "desk.py", 125), "medium");
    assert_eq!(level(&found, "DATA009", "desk.py", 137), "medium");
}

#[test]
fn rows_bounded_by_nature_and_seed_races_are_low() {
    let found = confidences(&["fixtures/python/integrity/schedule_export"]);
    // The distinct days of an event, one user's roles in one event, the events of the last
    // day; distinct rooms and every upcoming event stay medium.
    assert_eq!(level(&found, "DATA003", "export.py", 21), "low");
    assert_eq!(level(&found, "DATA003", "export.py", 40), "low");
    assert_eq!(level(&found, "DATA003", "export.py", 51), "low");
    assert_eq!(level(&found, "DATA003", "export.py", 31), "medium");
    assert_eq!(level(&found, "DATA003", "export.py", 60), "medium");
    let races = confidences(&["fixtures/python/integrity/import_races"]);
    // A model named through its module whose unique set covers the create; a look-up by
    // the whole row; a seed row in a schema set-up routine. A list per (user, name) with
    // nothing unique, and the seed outside set-up, stay medium.
    assert_eq!(level(&races, "DATA008", "imports.py", 12), "low");
    assert_eq!(level(&races, "DATA008", "imports.py", 22), "low");
    assert_eq!(level(&races, "DATA008", "imports.py", 42), "low");
    assert_eq!(level(&races, "DATA008", "imports.py", 31), "medium");
    assert_eq!(level(&races, "DATA008", "imports.py", 53), "medium");
    // A slug found by an unnamed look-up on a table keyed by a composite unique set.
    let slugs = confidences(&["fixtures/python/integrity/mirrored_slugs"]);
    assert_eq!(level(&slugs, "DATA006", "models.py", 9), "low");
}

#[test]
fn check_then_insert_a_module_schema_key_covers_is_low() {
    let found = confidences(&["fixtures/python/integrity/embedded_schema"]);
    // `PRIMARY KEY (roster_id, player_id)` in the module's own DDL, checked and inserted;
    // a table keyed by its id only stays medium.
    assert_eq!(level(&found, "DATA008", "rosters.py", 38), "low");
    assert_eq!(level(&found, "DATA008", "rosters.py", 54), "medium");
}

#[test]
fn per_tenant_reads_after_a_tenant_switch_are_low() {
    let found = confidences(&["fixtures/python/integrity/tenant_sweep.py"]);
    // The loop sets each tenant's scope before its read; the second loop does not.
    assert_eq!(level(&found, "DATA003", "tenant_sweep.py", 14), "low");
    assert_eq!(level(&found, "DATA003", "tenant_sweep.py", 26), "medium");
}
