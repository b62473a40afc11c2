//! The two credential forms and what a refusal of each says.

use reqwest::StatusCode;

use crate::config::Vars;
use crate::credentials::{secret_var, Auth, Form, Redactor};
use crate::error::{Error, Result};
use crate::http::AuthHint;

/// The access token of the job (`SYSTEM_ACCESSTOKEN`), sent as Bearer.
pub const ACCESS_TOKEN: Form = Form::new("job access token", &["SYSTEM_ACCESSTOKEN"], "Authorization: Bearer");

/// A personal access token (`AZURE_DEVOPS_PAT`), sent as Basic with an empty user name.
pub const PAT: Form = Form::new(
    "personal access token",
    &["AZURE_DEVOPS_PAT"],
    "Authorization: Basic (empty user name)",
);

/// How to map the job's token into the step's environment.
pub(super) const MAP_IT: &str = "map it into the step's environment (env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)): \
                      Azure Pipelines does not pass it to scripts by itself";

/// What a refusal means, for the credential that was sent.
pub(super) fn auth_hint(form: Form) -> AuthHint {
    Box::new(move |status: StatusCode, _reason: &str| {
        let pat = form == PAT;
        match (status == StatusCode::FORBIDDEN, pat) {
            (false, false) => format!(
                "SYSTEM_ACCESSTOKEN was not accepted: {MAP_IT}, from the pipeline that is running (a token of another run has expired)"
            ),
            (false, true) => "AZURE_DEVOPS_PAT was not accepted: check that the personal access token is current \
                              (not expired or revoked), belongs to this organization and has the Code (Read) scope"
                .to_string(),
            (true, false) => "the job's build service identity lacks permission: it needs Read on the repository \
                              (Project Settings > Repositories > Security), and a job limited to its own project \
                              (\"Limit job authorization scope\") cannot read another project's repository"
                .to_string(),
            (true, true) => "AZURE_DEVOPS_PAT lacks permission: it needs the Code (Read) scope (vso.code), and its user \
                             Read on the repository"
                .to_string(),
        }
    })
}

/// The credential: `SYSTEM_ACCESSTOKEN` first, else `AZURE_DEVOPS_PAT`.
pub(super) fn credential(vars: &Vars, redactor: &mut Redactor) -> Result<Auth> {
    if let Some(token) = secret_var(vars, "SYSTEM_ACCESSTOKEN") {
        if token.expose().starts_with("$(") {
            return Err(Error::config(format!(
                "SYSTEM_ACCESSTOKEN holds an unexpanded macro, not a token: {MAP_IT}, in the step's env (a macro is not expanded in every place)"
            )));
        }
        redactor.add(&token, None);
        return Auth::bearer(ACCESS_TOKEN, &token, "SYSTEM_ACCESSTOKEN");
    }
    if let Some(pat) = secret_var(vars, "AZURE_DEVOPS_PAT") {
        redactor.add(&pat, Some(""));
        return Auth::basic(PAT, "", &pat, "AZURE_DEVOPS_PAT");
    }
    Err(Error::config(format!(
        "no Azure DevOps credentials: SYSTEM_ACCESSTOKEN is not set ({MAP_IT}), nor AZURE_DEVOPS_PAT \
         (a personal access token with the Code (Read) scope)"
    )))
}

