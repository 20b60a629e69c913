//! AWS adapters: the DynamoDB store and the Secrets Manager configuration source.
