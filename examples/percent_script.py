# %% [markdown]
# # Customer segments with k-means
#
# Small clustering analysis of the mall customers data: scale two features,
# pick the number of clusters with the silhouette score, and look at the
# resulting segments.

# %%
import pandas as pd
import numpy as np
import matplotlib.pyplot as plt
from sklearn.preprocessing import StandardScaler
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

RANDOM_STATE = 0

# %% [markdown]
# ## Load and inspect

# %%
customers = pd.read_csv("data/mall_customers.csv")
customers = customers.rename(columns={"Annual Income (k$)": "income", "Spending Score (1-100)": "spending"})

# %%
customers.head()

# %%
customers[["income", "spending"]].describe()

# %%
plt.scatter(customers["income"], customers["spending"], s=12)
plt.xlabel("annual income (k$)")
plt.ylabel("spending score")
plt.show()

# %% [markdown]
# ## Scale features
#
# k-means is distance based, so put both features on the same scale.

# %%
scaler = StandardScaler()
X = scaler.fit_transform(customers[["income", "spending"]])

# %% [markdown]
# ## Choose k

# %%
models = {}
for k in range(2, 9):
    models[k] = KMeans(n_clusters=k, n_init=10, random_state=RANDOM_STATE).fit(X)

# %%
scores = {k: silhouette_score(X, m.labels_) for k, m in models.items()}
pd.Series(scores).plot(marker="o", title="silhouette score by k")
best_k = max(scores, key=scores.get)
print("best k:", best_k, "silhouette:", round(scores[best_k], 3))

# %% [markdown]
# ## Final model and segment profiles

# %%
kmeans = KMeans(n_clusters=best_k, n_init=10, random_state=RANDOM_STATE)
customers["segment"] = kmeans.fit_predict(X)

# %%
customers.groupby("segment")[["income", "spending"]].mean().round(1)

# %%
plt.scatter(customers["income"], customers["spending"], c=customers["segment"], cmap="tab10", s=12)
plt.title(f"{best_k} customer segments")
plt.show()
