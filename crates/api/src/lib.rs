//! The HTTP routers for every endpoint, shared by the Lambdas and the local server.
