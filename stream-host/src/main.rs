fn main() -> anyhow::Result<()> {
    anyhow::bail!("the stream host is not built yet: see issue 3")
}
