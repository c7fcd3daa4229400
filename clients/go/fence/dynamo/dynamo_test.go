package dynamo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Against moto (scripts/test.sh sets DRLEASE_TEST_DYNAMODB_ENDPOINT): skipped without it,
// unless DRLEASE_REQUIRE_STORE=1.
func table(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	endpoint := os.Getenv("DRLEASE_TEST_DYNAMODB_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("DRLEASE_REQUIRE_STORE") == "1" {
			t.Fatal("DRLEASE_TEST_DYNAMODB_ENDPOINT is unset but DRLEASE_REQUIRE_STORE=1")
		}
		t.Skip("no DynamoDB endpoint: scripts/test.sh starts moto")
	}
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
	name := fmt.Sprintf("fence-%d", time.Now().UnixNano())
	_, err := client.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client, name
}

func key(s string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: s}}
}

func mustStale(t *testing.T, err error) {
	t.Helper()
	var stale *StaleError
	if !errors.As(err, &stale) {
		t.Fatalf("want a write refused by the fence, got %v", err)
	}
}

func TestAWriteBelowTheFenceOrTheStoredEpochIsRefused(t *testing.T) {
	client, name := table(t)
	ctx := context.Background()
	f := &Fence{Client: client, Table: name, Key: key("fence#mylease")}
	if err := f.Raise(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if err := f.Put(ctx, key("state#a"), 5); err != nil {
		t.Fatalf("a write at the fence's epoch was refused: %v", err)
	}
	mustStale(t, f.Put(ctx, key("state#b"), 4))
	if err := f.Raise(ctx, 7); err != nil {
		t.Fatal(err)
	}
	mustStale(t, f.Put(ctx, key("state#a"), 6))
	// An item written at a higher epoch than the fence (a raise still on its way) refuses
	// a lower epoch's write, whatever the fence says.
	if err := f.Put(ctx, key("state#c"), 9); err != nil {
		t.Fatal(err)
	}
	mustStale(t, f.Put(ctx, key("state#c"), 8))
	mustStale(t, f.Raise(ctx, 3))
}

func TestTwoHoldersRaisingAtOnceEndAtTheHigherEpoch(t *testing.T) {
	client, name := table(t)
	ctx := context.Background()
	f := &Fence{Client: client, Table: name, Key: key("fence#race")}
	var wg sync.WaitGroup
	for side := 0; side < 2; side++ {
		wg.Add(1)
		go func(side int) {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				if err := f.Raise(ctx, uint64(1+2*i+side)); err != nil {
					var stale *StaleError
					if !errors.As(err, &stale) {
						t.Error(err)
					}
				}
			}
		}(side)
	}
	wg.Wait()
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), Key: f.Key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := strconv.Atoi(out.Item[FenceAttribute].(*types.AttributeValueMemberN).Value)
	if got != 60 {
		t.Fatalf("after both holders, the fence holds %d, not the highest epoch raised (60)", got)
	}
}
