//! `strata routes` over the Rust fixture services: axum and actix-web rows in the same
//! table as Python ones, with prefixes and auth composed across files.

use serde_json::Value;
use std::process::Command;

fn rows(path: &str) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["routes", path, "--format", "json"])
        .output()
        .expect("strata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    doc["routes"].as_array().expect("routes array").clone()
}

/// `METHOD path handler file auth ownership` per row.
fn lines(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            format!(
                "{} {} {} {} auth={} own={}",
                r["methods"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(","),
                r["path"].as_str().unwrap(),
                r["handler"].as_str().unwrap(),
                r["file"].as_str().unwrap().rsplit('/').next().unwrap(),
                r["auth"].as_str().unwrap_or("-"),
                r["ownership"].as_str().unwrap(),
            )
        })
        .collect()
}

#[test]
fn axum_service_rows() {
    let got = lines(&rows("fixtures/rust/axum-notes"));
    let expected = [
        "POST /api/v1/admin/export export_notes main.rs auth=middleware::from_fn(require_auth) own=n.a.",
        "GET /api/v1/admin/stats admin_stats main.rs auth=middleware::from_fn(require_auth) own=n.a.",
        "GET /api/v1/notes list_notes main.rs auth=AuthUser own=n.a.",
        "POST /api/v1/notes create_note main.rs auth=AuthUser own=n.a.",
        "GET /api/v1/notes/search search_notes main.rs auth=AuthUser own=n.a.",
        "DELETE /api/v1/notes/{id} delete_note main.rs auth=- own=no",
        "GET /api/v1/notes/{id} get_note main.rs auth=AuthUser own=yes",
        "GET /api/v1/notes/{id}/history note_history main.rs auth=AuthUser own=n.a.",
        // Nested from projects.rs by `.nest("/projects", projects::router())`.
        "GET /api/v1/projects list_projects projects.rs auth=AuthUser own=n.a.",
        "POST /api/v1/projects create_project projects.rs auth=AuthUser own=n.a.",
        "POST /api/v1/projects/labels create_label projects.rs auth=AuthUser own=n.a.",
        "GET /api/v1/projects/public/templates/{template_id} get_template projects.rs auth=- own=no",
        "DELETE /api/v1/projects/{project_id} delete_project projects.rs auth=AuthUser own=yes",
        "GET /api/v1/projects/{project_id} get_project projects.rs auth=AuthUser own=no",
        "POST /api/v1/projects/{project_id}/archive archive_project projects.rs auth=Claims own=yes",
        "POST /api/v1/projects/{project_id}/invites invite projects.rs auth=AuthUser own=yes",
        "POST /api/v1/projects/{project_id}/members add_member projects.rs auth=AuthUser own=yes",
        "DELETE /api/v1/projects/{project_id}/purge purge_project projects.rs auth=AdminUser own=no",
        "POST /api/v1/projects/{project_id}/restore restore_project projects.rs auth=AuthUser own=no",
        "POST /api/v1/projects/{project_id}/stars star_project projects.rs auth=AuthUser own=n.a.",
        "GET /api/v1/projects/{project_id}/tasks/{task_id} get_task projects.rs auth=AuthUser own=yes",
        "GET /health health main.rs auth=- own=n.a.",
        "DELETE /legacy/:id delete_note main.rs auth=- own=no",
    ];
    assert_eq!(got, expected, "{got:#?}");
}

#[test]
fn actix_service_rows() {
    let all = rows("fixtures/rust/actix-shop");
    let got = lines(&all);
    let expected = [
        // Configured from accounts.rs inside the `/api` scope with bearer auth.
        "GET /api/addresses list_addresses accounts.rs auth=User own=n.a.",
        "POST /api/addresses add_address accounts.rs auth=User own=n.a.",
        "GET /api/addresses/{address_id} get_address accounts.rs auth=User own=no",
        "PUT /api/addresses/{address_id} update_address accounts.rs auth=User own=yes",
        "POST /api/coupons/redeem redeem_coupon accounts.rs auth=User own=n.a.",
        "GET /api/invoices/{invoice_id} invoice main.rs auth=HttpAuthentication::bearer(validator) own=n.a.",
        "GET /api/invoices/{invoice_id}/pdf invoice_pdf accounts.rs auth=User own=yes",
        "GET /api/orders list_orders main.rs auth=HttpAuthentication::bearer(validator) own=n.a.",
        "POST /api/orders create_order main.rs auth=HttpAuthentication::bearer(validator) own=n.a.",
        "GET /api/orders/{order_id} get_order main.rs auth=HttpAuthentication::bearer(validator) own=n.a.",
        "GET /index/{name} index_file live.rs auth=- own=n.a.",
        "GET /memberships/mine my_org live.rs auth=- own=n.a.",
        "POST /orders/receipt receipt live.rs auth=- own=n.a.",
        "GET /orders/{order_id}/feed feed live.rs auth=- own=n.a.",
        "GET /orders/{order_id}/live live live.rs auth=- own=n.a.",
        // `.service(catalog::product)` at the top level: public.
        "GET /products/{product_id} product catalog.rs auth=- own=no",
        "GET /reports/by-customer by_customer reports.rs auth=- own=n.a.",
        "GET /reports/by-status by_status reports.rs auth=- own=n.a.",
        "GET /status status main.rs auth=- own=n.a.",
        "DELETE /v1/orders/{order_id} cancel_order main.rs auth=- own=n.a.",
        "POST /webhooks/payment payment live.rs auth=- own=n.a.",
    ];
    assert_eq!(got, expected, "{got:#?}");
    let product = all
        .iter()
        .find(|r| r["handler"] == "product")
        .expect("product row");
    assert_eq!(product["framework"], "actix-web");
    assert_eq!(product["path_params"][0]["type"], "i64");
}

/// FastAPI composition: a sub-application mounted under a path read from a settings
/// default, a parent router's constructor prefix (`APIRouter(prefix="/{tenant}")`) and the
/// login its registration adds, and a guard from another module that takes the caller.
#[test]
fn fastapi_mounted_subapp_rows() {
    let got = lines(&rows("fixtures/python/web/incident_api"));
    let expected = [
        "POST /api/v2/utilities/feedback/ratings rate_page utilities.py auth=- own=n.a.",
        "GET /api/v2/utilities/logo serve_logo utilities.py auth=- own=n.a.",
        "GET /api/v2/utilities/reports list_reports utilities.py auth=get_current_user own=n.a.",
        "POST /api/v2/utilities/reports create_report utilities.py auth=get_current_user own=n.a.",
        "POST /api/v2/utilities/reports/archive archive_reports utilities.py auth=- own=n.a.",
        "POST /api/v2/utilities/reports/merge merge_reports utilities.py auth=get_current_user own=n.a.",
        "POST /api/v2/utilities/reports/preview preview_report utilities.py auth=check_beta_access own=n.a.",
        "GET /api/v2/utilities/reports/{report_id} get_report utilities.py auth=get_current_user own=yes",
        "POST /api/v2/utilities/session/request request_code utilities.py auth=- own=n.a.",
        "POST /api/v2/utilities/summaries/decode decode_summary utilities.py auth=- own=n.a.",
        "POST /api/v2/{tenant}/incidents create_incident incidents.py auth=get_current_user own=n.a.",
        "DELETE /api/v2/{tenant}/incidents/{incident_id} delete_incident incidents.py auth=PermissionsDependency own=yes",
        "GET /api/v2/{tenant}/incidents/{incident_id} get_incident incidents.py auth=PermissionsDependency own=yes",
        "PUT /api/v2/{tenant}/incidents/{incident_id} update_incident incidents.py auth=PermissionsDependency own=yes",
        "POST /api/v2/{tenant}/incidents/{incident_id}/export export_incident incidents.py auth=get_current_user own=n.a.",
        "GET /api/v2/{tenant}/incidents/{incident_id}/timeline get_timeline incidents.py auth=PermissionsDependency own=n.a.",
    ];
    assert_eq!(got, expected, "{got:#?}");
}

#[test]
fn drf_router_handed_through_a_helper_rows() {
    // `api = add_schedule_urls(api)` hands the same router back: viewsets registered on
    // `api` afterwards are still routes.
    let got = lines(&rows("fixtures/python/web/scan_reports"));
    let auth = "permission_classes = (IsAuthenticated, DjangoModelPermissions)";
    let expected = [
        format!("GET /api/v2/reports/first/ ReportViewSet.first views.py auth={auth} own=n.a."),
        format!("GET /api/v2/reports/latest/ ReportViewSet.latest views.py auth={auth} own=n.a."),
        format!(
            "POST /api/v2/reports/rebuild/ ReportViewSet.rebuild views.py auth={auth} own=n.a."
        ),
    ];
    assert_eq!(got, expected, "{got:#?}");
}
