pub async fn run(_a: crate::cli::SuiteArgs) -> anyhow::Result<()> {
    Ok(())
}
