export { startQflareServer, lanOrigins, type QflareServer, type QflareServerOptions } from './server';
export { RoundCoordinator } from './rounds/round-coordinator';
