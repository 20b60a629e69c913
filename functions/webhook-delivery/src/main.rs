//! Lambda triggered by the webhook queue (SQS event source mapping, `ReportBatchItemFailures`):
//! delivers each event signed, one attempt per receive, and answers the messages to receive
//! again (docs/observability.md, "Webhooks").

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    phone_config::logging::init();
    let delivery = phone_api::webhook_delivery::load().await?;
    let delivery = &delivery;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(delivery.handle(event.payload).await)
    }))
    .await
}
