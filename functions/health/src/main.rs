fn main() -> anyhow::Result<()> {
    anyhow::bail!("health lambda: wiring comes with the api crate")
}
