// The public HTTP API of one model: POST /predict and GET /health proxied to the prediction
// Lambda, throttled, access-logged, and mapped at `/<model>` on the environment's shared domain.
import { Construct } from 'constructs';
import { Apigatewayv2Api } from '@cdktf/provider-aws/lib/apigatewayv2-api/index.js';
import { Apigatewayv2ApiMapping } from '@cdktf/provider-aws/lib/apigatewayv2-api-mapping/index.js';
import { Apigatewayv2Integration } from '@cdktf/provider-aws/lib/apigatewayv2-integration/index.js';
import { Apigatewayv2Route } from '@cdktf/provider-aws/lib/apigatewayv2-route/index.js';
import { Apigatewayv2Stage } from '@cdktf/provider-aws/lib/apigatewayv2-stage/index.js';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';

const API_ROUTES = ['POST /predict', 'GET /health'] as const;

export interface PredictionApiProps {
  apiName: string;
  functionName: string;
  functionArn: string;
  /** The custom domain (owned by the environment's domain stack) and this API's path on it. */
  domainName: string;
  mappingKey: string;
  throttle: { burstLimit: number; rateLimit: number };
  logRetentionDays: number;
}

// One JSON object per request; the fields API Gateway documents for HTTP API access logs.
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  domainName: '$context.domainName',
});

export class PredictionApi extends Construct {
  readonly apiId: string;
  /** The execute-api endpoint (also reachable; the custom domain is the documented one). */
  readonly apiEndpoint: string;

  constructor(scope: Construct, id: string, props: PredictionApiProps) {
    super(scope, id);
    const api = new Apigatewayv2Api(this, 'api', { name: props.apiName, protocolType: 'HTTP' });
    this.apiId = api.id;
    this.apiEndpoint = api.apiEndpoint;

    const integration = new Apigatewayv2Integration(this, 'lambda', {
      apiId: api.id,
      integrationType: 'AWS_PROXY',
      integrationUri: props.functionArn,
      payloadFormatVersion: '2.0',
    });
    for (const [i, routeKey] of API_ROUTES.entries()) {
      new Apigatewayv2Route(this, `route-${i}`, { apiId: api.id, routeKey, target: `integrations/${integration.id}` });
    }

    const accessLogs = new CloudwatchLogGroup(this, 'access-logs', {
      name: `/aws/apigateway/${props.apiName}`,
      retentionInDays: props.logRetentionDays,
    });
    const stage = new Apigatewayv2Stage(this, 'default-stage', {
      apiId: api.id,
      name: '$default',
      autoDeploy: true,
      defaultRouteSettings: {
        throttlingBurstLimit: props.throttle.burstLimit,
        throttlingRateLimit: props.throttle.rateLimit,
        detailedMetricsEnabled: false,
      },
      accessLogSettings: { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT },
    });

    new LambdaPermission(this, 'invoke', {
      statementId: 'AllowHttpApi',
      action: 'lambda:InvokeFunction',
      functionName: props.functionName,
      principal: 'apigateway.amazonaws.com',
      sourceArn: `${api.executionArn}/*/*`,
    });
    new Apigatewayv2ApiMapping(this, 'mapping', {
      apiId: api.id,
      domainName: props.domainName,
      stage: stage.id,
      apiMappingKey: props.mappingKey,
    });
  }
}
