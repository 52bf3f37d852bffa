//! The route inventory of `strata routes`: walks the paths, reads each Python and Rust web
//! file once for its web summary, and composes the rows across files.

use crate::model::routes::{inventory, Row, WebSummary};
use crate::source::SourceFile;

/// Builds the inventory of the Python and Rust files under `paths`: one parse per file
/// that mentions a web framework.
pub fn collect(
    paths: &[std::path::PathBuf],
    opts: &crate::scan::walk::WalkOptions,
    max_size: u64,
) -> Result<Vec<Row>, String> {
    use rayon::prelude::*;
    let (mut candidates, _) = crate::scan::walk::walk(paths, opts)?;
    if !opts.include_vendored {
        let roots = crate::scan::walk::root_prefixes(paths);
        let vendored = crate::scan::walk::vendored_dirs(&candidates, &roots);
        candidates.retain(|c| !vendored.iter().any(|(d, _)| c.rel.starts_with(d.as_str())));
    }
    let files: Vec<(String, WebSummary)> = candidates
        .par_iter()
        .filter(|c| {
            matches!(
                c.lang,
                crate::source::lang::Lang::Python | crate::source::lang::Lang::Rust
            ) && c.size <= max_size
        })
        .filter_map(|c| {
            let bytes = std::fs::read(&c.abs).ok()?;
            let crate::source::ReadOutcome::Ok(file) =
                SourceFile::decode(c.rel.clone(), c.lang, bytes)
            else {
                return None;
            };
            crate::scan::engine::web_summary(&file).map(|s| (c.rel.clone(), s))
        })
        .collect();
    Ok(inventory(&files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_inventory_composes_prefixes_across_files() {
        let opts = crate::scan::walk::WalkOptions {
            excludes: vec![],
            no_ignore: false,
            ..Default::default()
        };
        let rows = collect(&["fixtures/demo".into()], &opts, 1 << 20).expect("walks");
        let find = |m: &str, p: &str| {
            rows.iter()
                .find(|r| r.methods == [m] && r.path == p)
                .unwrap_or_else(|| panic!("{m} {p} listed"))
        };
        let get = find("GET", "/orders/{order_id}");
        assert_eq!(get.auth.as_deref(), Some("get_current_user"));
        assert_eq!(get.ownership, "yes");
        assert_eq!(find("DELETE", "/orders/{order_id:int}").auth, None);
        assert_eq!(
            find("POST", "/orders/{order_id:int}/refresh").ownership,
            "n.a."
        );
        assert_eq!(find("POST", "/admin/reindex").auth, None);
        assert_eq!(find("GET", "/health").ownership, "n.a.");
        assert_eq!(rows.len(), 8);
    }

    #[test]
    fn django_inventory_composes_urls_across_files() {
        let opts = crate::scan::walk::WalkOptions {
            excludes: vec![],
            no_ignore: false,
            ..Default::default()
        };
        let rows =
            collect(&["fixtures/python/web/django_shop".into()], &opts, 1 << 20).expect("walks");
        let find = |p: &str| {
            rows.iter()
                .find(|r| r.path == p)
                .unwrap_or_else(|| panic!("{p} listed"))
        };
        // path() + include("orders.urls") + path("<int:pk>/", views.order_detail)
        let detail = find("/orders/<int:pk>/");
        assert_eq!(detail.handler, "order_detail");
        assert_eq!(detail.auth.as_deref(), Some("login_required"));
        assert_eq!(detail.ownership, "yes");
        assert_eq!(detail.path_params[0].ty.as_deref(), Some("int"));
        // re_path regex turned into a path
        let receipt = find("/orders/<order_id>/receipt/");
        assert_eq!(receipt.auth, None);
        assert_eq!(find("/orders/<int:pk>/cancel/").methods, ["POST"]);
        assert_eq!(find("/orders/<int:pk>/cancel/").ownership, "no");
        assert_eq!(
            find("/orders/<int:pk>/invoice/").auth.as_deref(),
            Some("LoginRequiredMixin")
        );
        // DRF router under include(router.urls), with list and detail routes
        let inv = find("/api/v1/invoices/<pk>/");
        assert_eq!(inv.methods, ["GET"]);
        assert_eq!(inv.ownership, "no");
        assert_eq!(
            inv.auth.as_deref(),
            Some("permission_classes = [IsAuthenticated]")
        );
        assert_eq!(
            find("/api/v1/orders/<pk>/").methods,
            ["GET", "PUT", "PATCH", "DELETE"]
        );
        assert_eq!(find("/api/v1/orders/<pk>/mark-paid/").methods, ["POST"]);
        // project defaults from settings.REST_FRAMEWORK; AllowAny is public
        let stats = find("/api/v1/stats/");
        assert_eq!(stats.auth.as_deref(), Some("DRF default: IsAuthenticated"));
        assert_eq!(
            stats.rate_limit.as_deref(),
            Some("DRF default: UserRateThrottle")
        );
        assert_eq!(find("/api/v1/products/").auth, None);
        assert_eq!(
            find("/api/v1/login/").rate_limit.as_deref(),
            Some("throttle_classes = [ScopedRateThrottle]")
        );
        // 31 order/catalogue routes plus the 7 shipment-tracking views.
        assert_eq!(rows.len(), 38);
    }

    #[test]
    fn starlette_and_flask_restx_inventory() {
        let opts = crate::scan::walk::WalkOptions {
            excludes: vec![],
            no_ignore: false,
            ..Default::default()
        };
        let rows = collect(
            &[
                "fixtures/python/web/starlette_notes".into(),
                "fixtures/python/web/restx_tasks".into(),
            ],
            &opts,
            1 << 20,
        )
        .expect("walks");
        let find = |m: &str, p: &str| {
            rows.iter()
                .find(|r| r.methods == [m] && r.path == p)
                .unwrap_or_else(|| panic!("{m} {p} listed"))
        };
        // Mount("/api/notes", routes=note_routes) + Route("/{note_id:int}", ...)
        let read = find("GET", "/api/notes/{note_id:int}");
        assert_eq!(read.framework, "starlette");
        assert_eq!(read.auth.as_deref(), Some("requires(\"authenticated\")"));
        assert_eq!(read.ownership, "no");
        assert_eq!(find("DELETE", "/api/notes/{note_id:int}").auth, None);
        // @ns.route on Resource classes, Namespace("tasks") prefix, method_decorators
        let task = find("GET", "/tasks/<int:task_id>");
        assert_eq!(task.framework, "flask-restx");
        assert_eq!(
            task.auth.as_deref(),
            Some("method_decorators = [login_required]")
        );
        assert_eq!(find("GET", "/tasks/<int:task_id>/comments").auth, None);
        // api.add_resource(users.UserItem, ...) in another file
        let user = find("GET", "/users/<int:user_id>");
        assert_eq!(user.framework, "flask-restful");
        assert_eq!(user.handler, "UserItem.get");
        assert_eq!(user.ownership, "yes");
        assert!(find("POST", "/tasks/token").rate_limit.is_some());
    }
}
